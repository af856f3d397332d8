import { SluiceError } from '../errors/sluice-error.js';
import type { Middleware, Next, RequestContext } from './types.js';

/**
 * Composes middleware into one {@link Next}, outermost first: `middleware[0]` runs first and its
 * `next` calls `middleware[1]`, and so on down to `terminal` (the transport).
 *
 * A middleware may call `next` more than once (retry and fallback do: each call runs the rest of
 * the chain again), or not at all (a cache or a gate that fails fast). A middleware that throws
 * synchronously becomes a rejected promise, so callers only ever handle rejections.
 *
 * @example
 * ```ts
 * const run = composeMiddleware([telemetry, retry, createBudgetMiddleware({ registry })], send);
 * const response = await run(context);
 * ```
 *
 * @throws SluiceError kind `config` when an entry of `middleware` or `terminal` is not a function.
 */
export function composeMiddleware(middleware: readonly Middleware[], terminal: Next): Next {
  if (typeof terminal !== 'function') {
    throw notAFunction('terminal', terminal);
  }
  middleware.forEach((entry, index) => {
    if (typeof entry !== 'function') throw notAFunction(`middleware[${index}]`, entry);
  });

  let next: Next = guard(terminal);
  for (let index = middleware.length - 1; index >= 0; index--) {
    next = link(middleware[index]!, next);
  }
  return next;
}

function link(middleware: Middleware, inner: Next): Next {
  return function next(context: RequestContext) {
    try {
      return Promise.resolve(middleware(context, inner));
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

function guard(terminal: Next): Next {
  return function terminalNext(context: RequestContext) {
    try {
      return Promise.resolve(terminal(context));
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

function notAFunction(field: string, value: unknown): SluiceError {
  return new SluiceError({
    kind: 'config',
    phase: 'config',
    message: `composeMiddleware: ${field} must be a function (context, next) => Promise<ModelResponse>, got ${value === null ? 'null' : typeof value}.`,
  });
}
