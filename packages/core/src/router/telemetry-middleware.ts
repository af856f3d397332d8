import { SluiceError, errorCodeOf } from '../errors/sluice-error.js';
import { isAborted } from '../pipeline/abort-scope.js';
import type { ChatEvent, FinishReason, Usage } from '../events/chat-events.js';
import type { Middleware, ModelResponse, Next, RequestContext } from '../pipeline/types.js';
import type { SluiceEvent } from './router-events.js';
import { eventBase, isTokenEvent } from './event-base.js';
import { observeEvents } from './observe-events.js';
import { attemptsOf, waitedOf } from './request-state.js';

type RequestEnd = Extract<SluiceEvent, { type: 'request-end' }>;

/** Options of {@link createTelemetryMiddleware}. */
export interface TelemetryMiddlewareOptions {
  /**
   * Whether anyone listens, asked once per request; when it says no, the request runs without
   * this layer at all (telemetry costs nothing unobserved). Default: always observed.
   */
  observed?: () => boolean;
}

/**
 * The outermost middleware: publishes `request-start`, `first-token` (time from the call, queueing
 * included, to the first content, reasoning or tool-call delta) and one `request-end` per request
 * with its outcome (`success`, `failure`, or `cancelled` when the consumer stopped early or
 * aborted), duration, lease wait, TTFT, finish reason, usage and an error summary. Events carry
 * no secrets: the error summary is the SluiceError's redacted message and fields.
 */
export function createTelemetryMiddleware(options: TelemetryMiddlewareOptions = {}): Middleware {
  const observed = options.observed;

  // Passing through is a plain call: an async function returning next's promise would add
  // microtask hops to every request.
  return function telemetry(context, next) {
    if (observed && !observed()) return next(context);
    return observe(context, next);
  };
}

async function observe(context: RequestContext, next: Next): Promise<ModelResponse> {
  const startedAt = performance.now();
  context.emit({ ...eventBase(context), type: 'request-start', attempt: context.attempt });

  const report = new RequestReport(context, startedAt);
  let response: ModelResponse;
  try {
    response = await next(context);
  } catch (error) {
    report.end(error);
    throw error;
  }

  return {
    status: response.status,
    headers: response.headers,
    events: report.watch(response),
    cancel(reason?: unknown) {
      response.cancel(reason);
    },
  };
}

class RequestReport {
  readonly #context: RequestContext;
  readonly #startedAt: number;
  #ended = false;
  #ttftMs: number | undefined;
  #finishReason: FinishReason | undefined;
  #usage: Usage | undefined;

  constructor(context: RequestContext, startedAt: number) {
    this.#context = context;
    this.#startedAt = startedAt;
  }

  watch(response: ModelResponse): AsyncIterable<ChatEvent> {
    return observeEvents(response.events, {
      onEvent: (event) => {
        if (this.#ttftMs === undefined && isTokenEvent(event)) this.#firstToken();
        if (event.type === 'finish') {
          this.#finishReason = event.reason;
          this.#usage = event.usage;
        }
      },
      onEnd: ({ error, early }) => this.end(error, early),
    });
  }

  /** Publishes the one `request-end`; later calls do nothing. */
  end(error: unknown, stoppedEarly = false): void {
    if (this.#ended) return;
    this.#ended = true;

    const context = this.#context;
    // The caller's abort ends the request however the layer it reached reports it: a queued
    // request's budget rejects with the signal's own reason (a DOMException, any value).
    const aborted =
      error !== undefined &&
      (isAborted(context) || (SluiceError.isInstance(error) && error.kind === 'aborted'));
    const outcome: RequestEnd['outcome'] =
      error === undefined
        ? stoppedEarly
          ? 'cancelled'
          : 'success'
        : aborted
          ? 'cancelled'
          : 'failure';
    context.emit({
      ...eventBase(context),
      type: 'request-end',
      attempts: Math.max(1, attemptsOf(context)),
      outcome,
      durationMs: Math.round(performance.now() - this.#startedAt),
      waitedMs: Math.round(waitedOf(context)),
      ...(this.#ttftMs === undefined ? {} : { ttftMs: this.#ttftMs }),
      ...(this.#finishReason === undefined ? {} : { finishReason: this.#finishReason }),
      ...(this.#usage === undefined ? {} : { usage: this.#usage }),
      ...(error === undefined ? {} : { error: summarize(error, aborted) }),
    });
  }

  #firstToken(): void {
    const context = this.#context;
    this.#ttftMs = Math.round(performance.now() - this.#startedAt);
    context.emit({
      ...eventBase(context),
      type: 'first-token',
      attempt: context.attempt,
      ttftMs: this.#ttftMs,
    });
  }
}

function summarize(error: unknown, aborted: boolean): NonNullable<RequestEnd['error']> {
  if (!SluiceError.isInstance(error)) {
    const message = error instanceof Error ? error.message : String(error);
    if (aborted) return { kind: 'aborted', code: errorCodeOf('aborted'), message };
    return { kind: 'unknown', code: 'SLUICE_UNKNOWN', message };
  }
  return {
    kind: error.kind,
    code: error.code,
    message: error.message,
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.providerCode === undefined ? {} : { providerCode: error.providerCode }),
    ...(error.phase === undefined ? {} : { phase: error.phase }),
  };
}
