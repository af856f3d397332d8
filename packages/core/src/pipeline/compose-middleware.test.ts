import { describe, expect, it } from 'vitest';
import { SluiceError } from '../errors/sluice-error.js';
import { composeMiddleware } from './compose-middleware.js';
import type { Middleware, ModelResponse, Next, RequestContext } from './types.js';

const context = { state: new Map() } as unknown as RequestContext;

function response(status: number): ModelResponse {
  return { status, headers: new Headers(), events: (async function* () {})(), cancel() {} };
}

describe('composeMiddleware', () => {
  it('runs middleware outermost first and unwinds in reverse', async () => {
    const log: string[] = [];
    const named =
      (name: string): Middleware =>
      async (ctx, next) => {
        log.push(`${name} in`);
        const result = await next(ctx);
        log.push(`${name} out`);
        return result;
      };
    const terminal: Next = async () => {
      log.push('terminal');
      return response(200);
    };

    const run = composeMiddleware([named('a'), named('b'), named('c')], terminal);
    const result = await run(context);

    expect(result.status).toBe(200);
    expect(log).toEqual(['a in', 'b in', 'c in', 'terminal', 'c out', 'b out', 'a out']);
  });

  it('allows next to be called more than once (a retry runs the rest again)', async () => {
    let calls = 0;
    const terminal: Next = async () => {
      calls++;
      if (calls < 3) throw new Error(`attempt ${calls} failed`);
      return response(200 + calls);
    };
    const retry: Middleware = async (ctx, next) => {
      for (;;) {
        try {
          return await next(ctx);
        } catch {
          ctx.attempt++;
        }
      }
    };
    const attempts: number[] = [];
    const observe: Middleware = (ctx, next) => {
      attempts.push(ctx.attempt);
      return next(ctx);
    };

    const ctx = { ...context, attempt: 1 } as RequestContext;
    const result = await composeMiddleware([retry, observe], terminal)(ctx);
    expect(result.status).toBe(203);
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('with no middleware calls the terminal directly', async () => {
    const result = await composeMiddleware([], async () => response(204))(context);
    expect(result.status).toBe(204);
  });

  it('a middleware may answer without calling next', async () => {
    let reached = false;
    const gate: Middleware = async () => response(429);
    const run = composeMiddleware([gate], async () => {
      reached = true;
      return response(200);
    });
    expect((await run(context)).status).toBe(429);
    expect(reached).toBe(false);
  });

  it('turns a synchronous throw in a middleware or the terminal into a rejection', async () => {
    const boom: Middleware = () => {
      throw new Error('sync boom');
    };
    const run = composeMiddleware([boom], async () => response(200));
    await expect(run(context)).rejects.toThrow('sync boom');

    const terminal = (() => {
      throw new Error('terminal boom');
    }) as unknown as Next;
    await expect(composeMiddleware([], terminal)(context)).rejects.toThrow('terminal boom');
  });

  it('rejects an entry that is not a function with a config error naming it', () => {
    let caught: unknown;
    try {
      composeMiddleware([async (c, n) => n(c), 'oops' as unknown as Middleware], async () =>
        response(200),
      );
    } catch (error) {
      caught = error;
    }
    expect(SluiceError.isInstance(caught) && caught.kind).toBe('config');
    expect((caught as Error).message).toContain('middleware[1]');
  });
});
