import type { TimeoutsMs } from '../descriptor/types.js';
import type { RequestPhase } from '../errors/sluice-error.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import type { Middleware, ModelResponse, RequestContext } from '../pipeline/types.js';
import { linkAbortSignal } from '../transport/link-abort-signal.js';
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
 */
export function createDeadlinesMiddleware(): Middleware {
  return async function deadlines(context, next) {
    const attempt = new AttemptDeadlines(context);
    const attemptContext = withSignal(context, attempt.signal);

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
 * The attempt's view of the context with its own signal. A plain object literal: it reads the
 * context's fields once, which is far cheaper per request than `Object.create` with descriptors.
 */
function withSignal(context: RequestContext, signal: AbortSignal): RequestContext {
  return {
    requestId: context.requestId,
    request: context.request,
    route: context.route,
    session: context.session,
    priority: context.priority,
    signal,
    attempt: context.attempt,
    emit: context.emit,
    state: context.state,
  };
}

/** The timers of one attempt. One idle timer is re-armed lazily, not reset on every event. */
class AttemptDeadlines {
  fired: SluiceError | undefined;
  readonly signal: AbortSignal;
  readonly #context: RequestContext;
  readonly #timeouts: TimeoutsMs;
  readonly #controller = new AbortController();
  readonly #unlink: () => void;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #onFire: ((error: SluiceError) => void) | undefined;
  #lastEventAt = 0;
  #sawToken = false;
  #cancelled = false;
  #firstTokenTimer: ReturnType<typeof setTimeout> | undefined;
  #headersTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(context: RequestContext) {
    this.#context = context;
    this.#timeouts = context.route.timeouts;
    this.signal = this.#controller.signal;
    this.#unlink = linkAbortSignal(context.signal, this.#controller);
    this.#headersTimer = this.#arm(this.#timeouts.headersMs, 'headers');
    this.#arm(this.#timeouts.totalMs, 'total');
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
    this.#clear(this.#headersTimer);
    this.#onFire = (error) => this.cancelOnce(response, error);
    this.#lastEventAt = Date.now();
    if (this.#timeouts.idleMs > 0) this.#armIdle(this.#timeouts.idleMs);
    this.#firstTokenTimer = this.#arm(this.#timeouts.firstTokenMs, 'first-token');
  }

  /**
   * Watches the body. A deadline that fires cancels it, which ends a pending read at once (the
   * transport reads through its own reader), and the read's outcome is replaced by the timeout.
   */
  watch(response: ModelResponse): AsyncIterable<ChatEvent> {
    this.#onFire = (error) => this.cancelOnce(response, error);
    if (this.fired) this.cancelOnce(response, this.fired);

    return observeEvents(response.events, {
      onEvent: (event) => {
        if (this.fired) throw this.fired;
        this.#lastEventAt = Date.now();
        if (!this.#sawToken && isTokenEvent(event)) {
          this.#sawToken = true;
          this.#clear(this.#firstTokenTimer);
        }
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
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#unlink();
  }

  #arm(delayMs: number, phase: DeadlinePhase): ReturnType<typeof setTimeout> | undefined {
    if (!(delayMs > 0)) return undefined;
    const timer = setTimeout(() => this.#fire(phase, delayMs), delayMs);
    this.#timers.add(timer);
    return timer;
  }

  #armIdle(delayMs: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const silentMs = Date.now() - this.#lastEventAt;
      const idleMs = this.#timeouts.idleMs;
      if (silentMs >= idleMs) this.#fire('stream', idleMs);
      else this.#armIdle(idleMs - silentMs);
    }, delayMs);
    this.#timers.add(timer);
  }

  #clear(timer: ReturnType<typeof setTimeout> | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  #fire(phase: DeadlinePhase, limitMs: number): void {
    if (this.fired) return;
    this.fired = timeoutError(this.#context, phase, limitMs);
    this.dispose();
    this.#controller.abort(this.fired);
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
