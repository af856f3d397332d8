import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { testContext, testRoute } from '../../test/support/test-route.js';
import { AbortScope, ScopedRequestContext, isAborted, onContextAbort } from './abort-scope.js';

describe('AbortScope', () => {
  it('calls each listener once with the reason, in the order added, and ignores a second abort', () => {
    const scope = new AbortScope();
    const seen: string[] = [];
    scope.onAbort((reason) => seen.push(`a:${String(reason)}`));
    scope.onAbort((reason) => seen.push(`b:${String(reason)}`));
    scope.abort('stop');
    scope.abort('again');
    expect(seen).toEqual(['a:stop', 'b:stop']);
    expect(scope.aborted).toBe(true);
    expect(scope.reason).toBe('stop');
  });

  it('a removed listener is not called; one added after the abort is called at once', () => {
    const scope = new AbortScope();
    const seen: unknown[] = [];
    const remove = scope.onAbort((reason) => seen.push(reason));
    remove();
    scope.abort('stop');
    expect(seen).toEqual([]);
    scope.onAbort((reason) => seen.push(reason));
    expect(seen).toEqual(['stop']);
  });

  it('makes its signal on demand, already aborted when the scope is, and aborts it later', () => {
    const late = new AbortScope();
    late.abort('before');
    expect(late.signal.aborted).toBe(true);
    expect(late.signal.reason).toBe('before');

    const early = new AbortScope();
    const signal = early.signal;
    expect(signal.aborted).toBe(false);
    expect(early.signal).toBe(signal);
    early.abort('after');
    expect(signal.reason).toBe('after');
  });

  it('aborts with an AbortError when given no reason, as AbortController does', () => {
    const scope = new AbortScope();
    scope.abort();
    expect(scope.reason).toMatchObject({ name: 'AbortError' });
  });
});

describe('contexts and their abort', () => {
  it('a ScopedRequestContext reads the scope, and its signal follows it', () => {
    const scope = new AbortScope();
    const context = new ScopedRequestContext(testContext(testRoute()), scope);
    expect(isAborted(context)).toBe(false);
    const signal = context.signal;
    scope.abort('gone');
    expect(isAborted(context)).toBe(true);
    expect(signal.reason).toBe('gone');
  });

  it('onContextAbort on a plain context listens on its signal and removes the listener', () => {
    const controller = new AbortController();
    const context = testContext(testRoute(), { signal: controller.signal });
    const remove = onContextAbort(context, () => {});
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    remove();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
