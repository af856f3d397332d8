import type { TimeoutsMs } from '../descriptor/types.js';
import type { RequestPhase } from '../errors/sluice-error.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import { AbortScope, ScopedRequestContext, onContextAbort } from '../pipeline/abort-scope.js';
import type { Middleware, ModelResponse, RequestContext } from '../pipeline/types.js';
import { DeadlineClock, type Deadline } from './deadline-clock.js';
import { isTokenEvent } from './event-base.js';
import { observeEvents } from './observe-events.js';

type DeadlinePhase = Extract<RequestPhase, 'headers' | 'first-token' | 'stream' | 'total'>;

/**
 * The phase deadlines of one attempt, from `route.timeouts` (0 turns one off):
 *
 * - `headersMs`: from the call into the transport (the request is sent: this middleware runs
 *   inside the budget, so queueing never counts) to the response headers;
 * - `firstTokenMs`: from the headers to the first content, reasoning or tool-call delta;
 * - `idleMs`: the longest silence between two events of the body;
 * - `totalMs`: from send to the end of the body.
 *
 * A deadline that fires rejects the attempt with a SluiceError of kind `timeout` whose `phase`
 * names it (`headers`, `first-token`, `stream` for idle, `total`), aborts the fetch (closing the
 * socket) and cancels the body, which ends the lease held outside. Timeouts are retryable: the
 * retry middleware decides whether to try again.
 *
 * Each attempt gets its own abort scope (its `context.signal` is made only if read), aborted by
 * the request's and by a deadline. The deadlines of all attempts through one middleware share one
 * timer ({@link DeadlineClock}).
 */
export function createDeadlinesMiddleware(): Middleware {
  const clock = new DeadlineClock();
  return async function deadlines(context, next) {
    const attempt = new AttemptDeadlines(context, clock);
    // The attempt's view of the context, with its own scope.
    const attemptContext = new ScopedRequestContext(context, attempt.scope);

    let response: ModelResponse;
    try {
      response = await attempt.awaitHeaders(next(attemptContext));
    } catch (error) {
      attempt.dispose();
      throw attempt.fired ?? error;
    }

    attempt.onHeaders(response);
    return {
      status: response.status,
      headers: response.headers,
      events: attempt.watch(response),
      cancel(reason?: unknown) {
        attempt.dispose();
        attempt.cancelOnce(response, reason);
      },
    };
  };
}

/**
 * The deadlines of one attempt, kept as instants and checked by the shared clock at the earliest.
 * Events only move `lastEventAt`; the clock calls `check` at the instant it was given, which
 * fires the deadline that passed or names the next instant, so a stream of any length costs no
 * timer work per event.
 */
class AttemptDeadlines implements Deadline {
  fired: SluiceError | undefined;
  readonly scope = new AbortScope();
  atMs = Number.POSITIVE_INFINITY;
  readonly #context: RequestContext;
  readonly #clock: DeadlineClock;
  readonly #timeouts: TimeoutsMs;
  readonly #unlink: () => void;
  readonly #sentAt = Date.now();
  #headersAt: number | undefined;
  #lastEventAt = 0;
  #sawToken = false;
  #cancelled = false;
  #disposed = false;
  #onFire: ((error: SluiceError) => void) | undefined;

  constructor(context: RequestContext, clock: DeadlineClock) {
    this.#context = context;
    this.#clock = clock;
    this.#timeouts = context.route.timeouts;
    this.#unlink = onContextAbort(context, (reason) => this.scope.abort(reason));
    this.#schedule();
  }

  /** Resolves with the response, or rejects at once when a deadline fires first. */
  awaitHeaders(pending: Promise<ModelResponse>): Promise<ModelResponse> {
    return new Promise((resolve, reject) => {
      this.#onFire = reject;
      pending.then((response) => {
        // A response that lost the race to a deadline is nobody's: end its body here.
        if (this.fired) response.cancel(this.fired);
        else resolve(response);
      }, reject);
    });
  }

  onHeaders(response: ModelResponse): void {
    this.#onFire = (error) => this.cancelOnce(response, error);
    this.#headersAt = Date.now();
    this.#lastEventAt = this.#headersAt;
    this.#schedule();
  }

  /**
   * Watches the body. A deadline that fires cancels it, which ends a pending read at once (the
   * transport reads through its own reader), and the read's outcome is replaced by the timeout.
   */
  watch(response: ModelResponse): AsyncIterable<ChatEvent> {
    this.#onFire = (error) => this.cancelOnce(response, error);
    if (this.fired) this.cancelOnce(response, this.fired);

    return observeEvents(response.events, {
      onBatch: (batch) => {
        if (this.fired) throw this.fired;
        this.#lastEventAt = Date.now();
        if (!this.#sawToken && batch.some(isTokenEvent)) this.#sawToken = true;
      },
      onDone: () => {
        if (this.fired) throw this.fired;
      },
      mapError: (error) => this.fired ?? error,
      onEnd: ({ error, early }) => {
        this.dispose();
        if (early || error !== undefined) this.cancelOnce(response, this.fired);
      },
    });
  }

  /** Ends the body once, however many of fire, break and cancel() ask for it. */
  cancelOnce(response: ModelResponse, reason: unknown): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    response.cancel(reason);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#clock.delete(this);
    this.#unlink();
  }

  /** The earliest deadline still pending, as an instant, with its phase. */
  #next(): { atMs: number; phase: DeadlinePhase } | undefined {
    const timeouts = this.#timeouts;
    let next: { atMs: number; phase: DeadlinePhase } | undefined;
    const consider = (atMs: number, phase: DeadlinePhase) => {
      if (next === undefined || atMs < next.atMs) next = { atMs, phase };
    };

    if (timeouts.totalMs > 0) consider(this.#sentAt + timeouts.totalMs, 'total');
    if (this.#headersAt === undefined) {
      if (timeouts.headersMs > 0) consider(this.#sentAt + timeouts.headersMs, 'headers');
      return next;
    }
    if (!this.#sawToken && timeouts.firstTokenMs > 0) {
      consider(this.#headersAt + timeouts.firstTokenMs, 'first-token');
    }
    if (timeouts.idleMs > 0) consider(this.#lastEventAt + timeouts.idleMs, 'stream');
    return next;
  }

  /** Puts the attempt on the clock for its earliest deadline, when that moved earlier. */
  #schedule(): void {
    if (this.#disposed || this.fired) return;
    const next = this.#next();
    if (next === undefined || next.atMs >= this.atMs) return;
    this.atMs = next.atMs;
    this.#clock.add(this);
  }

  /** The clock reached `atMs`: fires the deadline that passed, or names the next instant. */
  check(nowMs: number): number | undefined {
    if (this.#disposed || this.fired) return undefined;
    const next = this.#next();
    if (next === undefined) return undefined;
    if (nowMs >= next.atMs) {
      this.#fire(next.phase);
      return undefined;
    }
    this.atMs = next.atMs;
    return next.atMs;
  }

  #fire(phase: DeadlinePhase): void {
    if (this.fired) return;
    this.fired = timeoutError(this.#context, phase, this.#timeouts[SETTING[phase]]);
    this.dispose();
    this.scope.abort(this.fired);
    this.#onFire?.(this.fired);
  }
}

const WHAT: Record<DeadlinePhase, string> = {
  headers: 'No response headers',
  'first-token': 'No first token',
  stream: 'The stream went silent',
  total: 'The request did not finish',
};

const SETTING: Record<DeadlinePhase, keyof TimeoutsMs> = {
  headers: 'headersMs',
  'first-token': 'firstTokenMs',
  stream: 'idleMs',
  total: 'totalMs',
};

function timeoutError(context: RequestContext, phase: DeadlinePhase, limitMs: number): SluiceError {
  const route = context.route;
  return new SluiceError({
    kind: 'timeout',
    phase,
    message: `${WHAT[phase]} within ${limitMs} ms on route "${route.name}" (provider ${route.provider.id}, ${phase} deadline).`,
    hint: `Raise timeouts.${SETTING[phase]} for this route or provider instance if the provider is just slow.`,
    route: route.name,
    providerId: route.provider.id,
  });
}
