import { expect, test } from 'vitest';
import { isLoopbackHost } from './is-loopback-host.js';

test.each([
  ['localhost', true],
  ['LOCALHOST', true],
  ['api.localhost', true],
  ['127.0.0.1', true],
  ['127.255.0.9', true],
  ['[::1]', true],
  ['::1', true],
  ['128.0.0.1', false],
  ['0.0.0.0', false],
  ['10.0.0.1', false],
  ['127.0.0.1.example.com', false],
  ['localhost.example.com', false],
  ['127.0.0.256', false],
  ['[::2]', false],
])('isLoopbackHost(%s) is %s', (host, expected) => {
  expect(isLoopbackHost(host)).toBe(expected);
});
