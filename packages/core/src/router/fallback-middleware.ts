import type { ResolvedRoute } from '../config/resolved-route.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import type { Middleware, ModelResponse, Next, RequestContext } from '../pipeline/types.js';
import { eventBase } from './event-base.js';

/** Options of {@link createFallbackMiddleware}. */
export interface FallbackMiddlewareOptions {
  /** Resolves a fallback route name; throws a config error for an unknown one. */
  resolveRoute(name: string): ResolvedRoute;
}

/**
 * Tries the route's `fallbacks`, in order, when the request failed with a retryable error before
 * any output reached the consumer: after the retry middleware inside gave up on the route, or at
 * once when the classifier set `preferFallback` (retry rethrows those without retrying). Each
 * candidate gets its own retries; `context.route` is switched to it and `context.attempt` starts
 * again at 1. Emits a `fallback` event per switch. Only the first route's fallbacks are tried:
 * a fallback's own fallbacks are not followed, so a cycle cannot loop.
 */
export function createFallbackMiddleware(options: FallbackMiddlewareOptions): Middleware {
  return async function fallback(context, next) {
    const candidates = context.route.fallbacks;
    if (candidates.length === 0) return next(context);

    const run = new FallbackRun(context, next, options, candidates);
    const first = await run.connect();
    return {
      status: first.status,
      headers: first.headers,
      events: run.events(first),
      cancel: (reason?: unknown) => run.cancel(reason),
    };
  };
}

class FallbackRun {
  readonly #context: RequestContext;
  readonly #next: Next;
  readonly #options: FallbackMiddlewareOptions;
  readonly #candidates: string[];
  #index = 0;
  #current: ModelResponse | undefined;
  #cancelled = false;

  constructor(
    context: RequestContext,
    next: Next,
    options: FallbackMiddlewareOptions,
    candidates: string[],
  ) {
    this.#context = context;
    this.#next = next;
    this.#options = options;
    this.#candidates = candidates;
  }

  async connect(): Promise<ModelResponse> {
    for (;;) {
      try {
        const response = await this.#next(this.#context);
        if (this.#cancelled) response.cancel();
        this.#current = response;
        return response;
      } catch (error) {
        this.#switchOrThrow(error);
      }
    }
  }

  async *events(first: ModelResponse): AsyncGenerator<ChatEvent> {
    let response = first;
    for (;;) {
      let yielded = false;
      try {
        for await (const event of response.events) {
          yielded = true;
          yield event;
        }
        return;
      } catch (error) {
        if (yielded) throw error;
        this.#switchOrThrow(error);
        response = await this.connect();
      }
    }
  }

  cancel(reason: unknown): void {
    this.#cancelled = true;
    this.#current?.cancel(reason);
  }

  #switchOrThrow(error: unknown): void {
    const context = this.#context;
    const eligible =
      SluiceError.isInstance(error) && error.retryable && error.kind !== 'mid-stream';
    if (!eligible || this.#cancelled || context.signal.aborted) throw error;

    const name = this.#candidates[this.#index];
    if (name === undefined) throw error;
    this.#index += 1;

    const from = context.route.name;
    const to = this.#options.resolveRoute(name);
    context.route = to;
    context.attempt = 1;
    context.emit({ ...eventBase(context), type: 'fallback', from, to: to.name, kind: error.kind });
  }
}
