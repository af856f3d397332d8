import { describe, expect, test } from 'vitest';
import { closestName, editDistance } from './closest-name.js';

describe('editDistance', () => {
  test.each([
    ['maxConcurency', 'maxConcurrency', 1],
    ['gml', 'glm', 1],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['same', 'same', 0],
  ])('%s -> %s is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });
});

describe('closestName', () => {
  const keys = ['maxConcurrency', 'timeouts', 'retry', 'headers', 'use', 'apiKey'];

  test('suggests a likely typo, case differences included', () => {
    expect(closestName('maxConcurency', keys)).toBe('maxConcurrency');
    expect(closestName('timeout', keys)).toBe('timeouts');
    expect(closestName('apikey', keys)).toBe('apiKey');
    expect(closestName('USE', keys)).toBe('use');
  });

  test('suggests nothing for a distant name or a short one a single edit away', () => {
    expect(closestName('colour', keys)).toBeUndefined();
    expect(closestName('c', ['b', 'a'])).toBeUndefined();
    expect(closestName('x', [])).toBeUndefined();
  });
});
