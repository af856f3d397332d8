import type { ResolvedRoute } from '../config/resolved-route.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import {
  batchedEvents,
  eventBatchesOf,
  type BatchedEvents,
  type EventBatches,
} from '../pipeline/event-batches.js';
import { isAborted } from '../pipeline/abort-scope.js';
import type { Middleware, ModelResponse, Next, RequestContext } from '../pipeline/types.js';
import { eventBase } from './event-base.js';
import { runResponse } from './run-response.js';

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
  // A route without fallbacks passes through with a plain call, no async hop of its own.
  return function fallback(context, next) {
    const candidates = context.route.fallbacks;
    if (candidates.length === 0) return next(context);
    return withFallbacks(new FallbackRun(context, next, options, candidates));
  };
}

async function withFallbacks(run: FallbackRun): Promise<ModelResponse> {
  return runResponse(await run.connect(), run);
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

  events(first: ModelResponse): AsyncIterableIterator<ChatEvent> & BatchedEvents {
    return batchedEvents(new FallbackBatches(this, first));
  }

  cancel(reason: unknown): void {
    this.#cancelled = true;
    this.#current?.cancel(reason);
  }

  /** Switches to the next candidate and connects, or rethrows when none may take over. */
  reconnect(error: unknown): Promise<ModelResponse> {
    this.#switchOrThrow(error);
    return this.connect();
  }

  #switchOrThrow(error: unknown): void {
    const context = this.#context;
    const eligible =
      SluiceError.isInstance(error) && error.retryable && error.kind !== 'mid-stream';
    if (!eligible || this.#cancelled || isAborted(context)) throw error;

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

/** The batches of the current candidate; a failure before any batch moves to the next one. */
class FallbackBatches implements EventBatches {
  readonly #run: FallbackRun;
  #source: EventBatches;
  #yielded = false;
  #ended = false;

  constructor(run: FallbackRun, first: ModelResponse) {
    this.#run = run;
    this.#source = eventBatchesOf(first.events);
  }

  async next(): Promise<ChatEvent[] | undefined> {
    for (;;) {
      if (this.#ended) return undefined;
      try {
        const batch = await this.#source.next();
        if (batch === undefined) this.#ended = true;
        else this.#yielded = true;
        return batch;
      } catch (error) {
        if (this.#yielded || this.#ended) {
          this.#ended = true;
          throw error;
        }
        try {
          this.#source = eventBatchesOf((await this.#run.reconnect(error)).events);
        } catch (final) {
          this.#ended = true;
          throw final;
        }
      }
    }
  }

  return(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#source.return();
  }
}
