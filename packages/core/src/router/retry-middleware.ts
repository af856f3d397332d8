import type { BudgetRegistry } from '../budget/types.js';
import type { SluiceErrorKind } from '../errors/sluice-error.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import {
  batchedEvents,
  eventBatchesOf,
  type BatchedEvents,
  type EventBatches,
} from '../pipeline/event-batches.js';
import { abortReasonOf, isAborted } from '../pipeline/abort-scope.js';
import type { Middleware, ModelResponse, Next, RequestContext } from '../pipeline/types.js';
import { classificationOf } from '../transport/error-classification.js';
import { linkAbortSignal } from '../transport/link-abort-signal.js';
import { abortableSleep } from './abortable-sleep.js';
import { computeRetryDelay } from './compute-retry-delay.js';
import { eventBase, isOutputEvent } from './event-base.js';
import { countAttempt } from './request-state.js';
import { runResponse } from './run-response.js';

/** Kinds never retried, whatever `retryOn` says: another attempt meets the same answer. */
const NEVER_RETRIED: ReadonlySet<SluiceErrorKind> = new Set<SluiceErrorKind>([
  'auth',
  'bad-request',
  'billing',
  'mid-stream',
  'aborted',
  'config',
]);

/**
 * How much a retried attempt's priority is raised. Priority classes are whole numbers (the fleet
 * puts root sessions at 10, children at 0), so half a step puts a retry ahead of new work of its
 * own class without jumping a higher class.
 */
export const RETRY_PRIORITY_BOOST = 0.5;

/** Options of {@link createRetryMiddleware}. */
export interface RetryMiddlewareOptions {
  /** Where the route budgets live, for the shared cooldown after a rate-limit signal. */
  budgets?: BudgetRegistry;
  /** A [0, 1) source for jitter; default `Math.random`. */
  random?: () => number;
}

/**
 * Retries failed attempts per `route.retry`, invisibly to the consumer while no output reached it.
 *
 * - Retried: kinds in `retry.retryOn` whose error is `retryable`; never auth, bad-request or
 *   billing. Up to `retry.maxAttempts` attempts in all.
 * - Delay: the server's wait, clamped to `retry.maxServerWaitMs`; without a usable one,
 *   exponential backoff with full jitter (see {@link computeRetryDelay}). The wait holds no lease
 *   (this middleware sits outside the budget) and an abort during it rejects at once.
 * - Cooldown: a rate-limit failure (kind `rate-limit` or a classification with `cooldown`) sets
 *   the route budget's cooldown to now + that delay, so queued requests wait it out together, and
 *   emits a `cooldown` event.
 * - Order: a retried attempt acquires at `priority + RETRY_PRIORITY_BOOST`, ahead of new work.
 * - Output: the events of an attempt are held back until its first output event (text,
 *   reasoning, tool call, finish); a failure before that is retried and the consumer sees one
 *   `start` and the output once. A failure after output is never retried: it is rethrown as a
 *   `mid-stream` SluiceError whose `cause` is the original error (its kind named in the message).
 * - A classification with `preferFallback` on a route with fallbacks is rethrown at once, for the
 *   fallback middleware outside.
 */
export function createRetryMiddleware(options: RetryMiddlewareOptions = {}): Middleware {
  const random = options.random ?? Math.random;

  return async function retry(context, next) {
    const run = new RetryRun(context, next, options.budgets, random);
    return runResponse(await run.connect(), run);
  };
}

class RetryRun {
  readonly #context: RequestContext;
  readonly #next: Next;
  readonly #budgets: BudgetRegistry | undefined;
  readonly #random: () => number;
  /** The backoff sleep in progress, if any: `cancel()` ends it. Made per sleep, not per request. */
  #sleeping: AbortController | undefined;
  #cancelReason: unknown;
  #current: ModelResponse | undefined;
  #cancelled = false;

  constructor(
    context: RequestContext,
    next: Next,
    budgets: BudgetRegistry | undefined,
    random: () => number,
  ) {
    this.#context = context;
    this.#next = next;
    this.#budgets = budgets;
    this.#random = random;
  }

  /** Attempts until one gets response headers, or a failure is final. */
  async connect(): Promise<ModelResponse> {
    for (;;) {
      try {
        countAttempt(this.#context);
        const response = await this.#next(this.#attemptContext());
        if (this.#cancelled) {
          response.cancel();
          throw this.#abortError();
        }
        this.#current = response;
        return response;
      } catch (error) {
        await this.#afterFailure(error);
      }
    }
  }

  events(first: ModelResponse): AsyncIterableIterator<ChatEvent> & BatchedEvents {
    return batchedEvents(new RetryBatches(this, first));
  }

  /** After a failure before output: sleeps and reconnects, or rethrows a final failure. */
  async reconnect(error: unknown): Promise<ModelResponse> {
    await this.#afterFailure(error);
    return this.connect();
  }

  midStream(error: unknown): SluiceError {
    return midStreamError(this.#context, error);
  }

  cancel(reason: unknown): void {
    this.#cancelled = true;
    this.#cancelReason = reason;
    this.#sleeping?.abort(reason);
    this.#current?.cancel(reason);
  }

  #attemptContext(): RequestContext {
    if (this.#context.attempt <= 1) return this.#context;
    return Object.create(this.#context, {
      priority: { value: this.#context.priority + RETRY_PRIORITY_BOOST, enumerable: true },
    });
  }

  /** Rethrows a final failure; otherwise sleeps the retry delay and counts the next attempt. */
  async #afterFailure(error: unknown): Promise<void> {
    const context = this.#context;
    if (this.#cancelled || isAborted(context)) throw error;
    if (!SluiceError.isInstance(error)) throw error;

    const policy = context.route.retry;
    const classification = classificationOf(error);
    const delay = computeRetryDelay(policy, context.attempt, error.retryAfterMs, this.#random);
    if (error.kind === 'rate-limit' || classification?.cooldown)
      this.#cooldown(error, delay.delayMs);

    const retryable =
      error.retryable && policy.retryOn.includes(error.kind) && !NEVER_RETRIED.has(error.kind);
    if (!retryable || context.attempt >= policy.maxAttempts) throw error;
    if (classification?.preferFallback && context.route.fallbacks.length > 0) throw error;

    context.emit({
      ...eventBase(context),
      type: 'retry',
      attempt: context.attempt,
      kind: error.kind,
      delayMs: delay.delayMs,
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.providerCode === undefined ? {} : { providerCode: error.providerCode }),
    });

    const sleepSignal = this.#sleepSignal();
    try {
      if (delay.delayMs > 0) await abortableSleep(delay.delayMs, sleepSignal.signal);
    } catch {
      throw this.#abortError();
    } finally {
      sleepSignal.dispose();
    }
    context.attempt += 1;
  }

  /** One signal for the sleep: the caller's abort or this run's cancel, unlinked afterwards. */
  #sleepSignal(): { signal: AbortSignal; dispose: () => void } {
    const controller = new AbortController();
    this.#sleeping = controller;
    if (this.#cancelled) controller.abort(this.#cancelReason);
    const unlink = linkAbortSignal(this.#context.signal, controller);
    return {
      signal: controller.signal,
      dispose: () => {
        this.#sleeping = undefined;
        unlink();
      },
    };
  }

  #cooldown(error: SluiceError, delayMs: number): void {
    const context = this.#context;
    if (!this.#budgets || delayMs <= 0) return;

    const untilMs = Date.now() + delayMs;
    const reason = `${error.kind}${error.providerCode ? ` ${error.providerCode}` : ''}${
      error.status ? ` (HTTP ${error.status})` : ''
    }`;
    const budget = this.#budgets.get(context.route.budgetKey, {
      limit: context.route.maxConcurrency,
    });
    budget.cooldown(untilMs, reason);
    context.emit({ ...eventBase(context), type: 'cooldown', untilMs, reason });
  }

  #abortError(): SluiceError {
    const context = this.#context;
    const reason = isAborted(context) ? abortReasonOf(context) : this.#cancelReason;
    if (SluiceError.isInstance(reason)) return reason;
    return new SluiceError({
      kind: 'aborted',
      phase: 'queue',
      message: `Request on route "${context.route.name}" was aborted while waiting to retry.`,
      route: context.route.name,
      providerId: context.route.provider.id,
      cause: reason,
    });
  }
}

/**
 * The events of all attempts as one stream, in batches. Until the first output event, an
 * attempt's batches are held back and a failure reconnects; from then on batches pass straight
 * through (one `.then` per batch) and a failure becomes a mid-stream error.
 */
class RetryBatches implements EventBatches {
  readonly #run: RetryRun;
  #source: EventBatches;
  #delivered = false;
  #ended = false;

  constructor(run: RetryRun, first: ModelResponse) {
    this.#run = run;
    this.#source = eventBatchesOf(first.events);
  }

  next(): Promise<ChatEvent[] | undefined> {
    if (this.#ended) return Promise.resolve(undefined);
    if (this.#delivered) return this.#source.next().then(this.#pass, this.#failAfterOutput);
    return this.#holdUntilOutput();
  }

  return(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#source.return();
  }

  readonly #pass = (batch: ChatEvent[] | undefined): ChatEvent[] | undefined => {
    if (batch === undefined) this.#ended = true;
    return batch;
  };

  readonly #failAfterOutput = (error: unknown): never => {
    this.#ended = true;
    throw this.#run.midStream(error);
  };

  async #holdUntilOutput(): Promise<ChatEvent[] | undefined> {
    let held: ChatEvent[] = [];
    try {
      for (;;) {
        let batch: ChatEvent[] | undefined;
        try {
          batch = await this.#source.next();
        } catch (error) {
          held = [];
          const response = await this.#run.reconnect(error);
          this.#source = eventBatchesOf(response.events);
          continue;
        }
        if (this.#ended) return undefined;

        if (batch === undefined) {
          this.#ended = true;
          return held.length > 0 ? held : undefined;
        }
        held = held.length === 0 ? batch : held.concat(batch);
        if (batch.some(isOutputEvent)) {
          this.#delivered = true;
          return held;
        }
      }
    } catch (error) {
      this.#ended = true;
      throw error;
    }
  }
}

/**
 * The error a consumer gets when an attempt fails after output reached it: kind `mid-stream`, not
 * retryable, with the original error as `cause` and its kind, status and provider code kept.
 */
export function midStreamError(context: RequestContext, error: unknown): SluiceError {
  if (SluiceError.isInstance(error) && (error.kind === 'mid-stream' || error.kind === 'aborted')) {
    return error;
  }

  const route = context.route;
  const inner = SluiceError.isInstance(error) ? error : undefined;
  const innerKind = inner?.kind ?? 'unknown';
  const innerMessage = error instanceof Error ? error.message : String(error);
  return new SluiceError({
    kind: 'mid-stream',
    retryable: false,
    phase: inner?.phase ?? 'stream',
    message: `The stream of route "${route.name}" failed after output reached the consumer (${innerKind}): ${innerMessage}`,
    hint: 'It was not retried, so no output is repeated; retry the whole request if you can discard the partial answer.',
    route: route.name,
    providerId: route.provider.id,
    ...(inner?.status === undefined ? {} : { status: inner.status }),
    ...(inner?.providerCode === undefined ? {} : { providerCode: inner.providerCode }),
    cause: error,
  });
}
