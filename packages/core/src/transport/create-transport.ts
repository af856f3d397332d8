import { Agent, type Dispatcher } from 'undici';
import type { AbortScope } from '../pipeline/abort-scope.js';

/** Options of {@link createTransport}. */
export interface TransportOptions {
  /**
   * A fetch to use instead of global `fetch` + undici Agent (tests, proxies, edge runtimes).
   * When given, no dispatcher is created and the fetch is called as is.
   */
  fetch?: typeof fetch;
  /**
   * Connections in the keep-alive pool, sized to the instance's budget so a granted lease never
   * queues again inside undici. 0 or a non-finite value: no pool cap.
   */
  connections: number;
  /** How long an idle keep-alive socket stays open, in ms. Default 30 000. */
  keepAliveTimeoutMs?: number;
}

/** The HTTP client of one provider instance. */
export interface Transport {
  /** A standard fetch bound to this instance's dispatcher. */
  readonly fetch: typeof fetch;
  /** The undici Agent behind `fetch`; undefined when a fetch was injected. */
  readonly dispatcher: Agent | undefined;
  /**
   * Sends one request that `scope` aborts. With the pool's own dispatcher, the abort goes to the
   * request through undici's dispatch handler and fetch is given no signal: fetch pays about
   * 20 µs of CPU for each request that carries one (Node 20). An injected fetch gets
   * `scope.signal`. `init` is the request's own: `send` sets its dispatcher.
   */
  send(url: string, init: RequestInit, scope: AbortScope): Promise<Response>;
  /** Closes the pool's sockets; in-flight requests are destroyed. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_KEEP_ALIVE_MS = 30_000;

/**
 * Creates the transport of one provider instance: global `fetch` with a keep-alive undici 7
 * `Agent` as `dispatcher`.
 *
 * undici's own `headersTimeout` and `bodyTimeout` are switched off (0): Sluice's phase deadlines
 * own those waits, and undici's 300 s defaults would otherwise cut a configured longer header wait
 * or a silent thinking phase short with an error that names no phase. Global `fetch` is looked up
 * on every call, so msw (which patches it) intercepts requests made after the transport exists.
 */
export function createTransport(options: TransportOptions): Transport {
  if (options.fetch) {
    const injected = options.fetch;
    return {
      fetch: injected,
      dispatcher: undefined,
      send: (url, init, scope) => injected(url, { ...init, signal: scope.signal }),
      close: async () => {},
    };
  }

  const connections =
    Number.isFinite(options.connections) && options.connections > 0
      ? Math.floor(options.connections)
      : undefined;
  const dispatcher = new Agent({
    ...(connections === undefined ? {} : { connections }),
    keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  let closed: Promise<void> | undefined;

  const boundFetch = ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    globalThis.fetch(input, { ...init, dispatcher } as RequestInit)) as typeof fetch;

  return {
    fetch: boundFetch,
    dispatcher,
    send(url, init, scope) {
      const dispatch = new AbortableDispatch(dispatcher);
      scope.onAbort((reason) => dispatch.abort(reason));
      // `init` is the caller's own object for this one request.
      (init as RequestInit & { dispatcher: unknown }).dispatcher = dispatch;
      return globalThis.fetch(url, init);
    },
    close: () => {
      closed ??= dispatcher.destroy().catch(() => {});
      return closed;
    },
  };
}

/**
 * The dispatcher of one request: passes it to the pool and keeps the abort function undici hands
 * its handler, so the request can be aborted (and its socket closed) without an AbortSignal. An
 * abort before undici handed one over is applied as soon as it does. Under a fetch that never
 * dispatches (msw patches global fetch), an abort reaches nothing; the deadline or the cancel
 * that asked for it still ends the attempt at once, and the late response is cancelled.
 */
class AbortableDispatch {
  readonly #pool: Dispatcher;
  #abort: ((reason: Error) => void) | undefined;
  #aborted = false;
  #reason: Error | undefined;

  constructor(pool: Dispatcher) {
    this.#pool = pool;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const legacy = handler as LegacyHandler;
    const onConnect = legacy.onConnect;
    if (typeof onConnect === 'function') {
      legacy.onConnect = (abort, context) => {
        this.#abort = abort;
        onConnect.call(handler, abort, context);
        if (this.#aborted) abort(this.#reason!);
      };
    }
    const onRequestStart = legacy.onRequestStart;
    if (typeof onRequestStart === 'function') {
      legacy.onRequestStart = (controller, context) => {
        this.#abort = (reason) => controller.abort(reason);
        onRequestStart.call(handler, controller, context);
        if (this.#aborted) controller.abort(this.#reason!);
      };
    }
    return this.#pool.dispatch(options, handler);
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason instanceof Error ? reason : new Error(String(reason));
    this.#abort?.(this.#reason);
  }
}

/** The two ways undici gives a handler its abort: the old `onConnect`, the new `onRequestStart`. */
interface LegacyHandler {
  onConnect?: (abort: (reason: Error) => void, context: object) => void;
  onRequestStart?: (controller: { abort(reason: Error): void }, context: object) => void;
}
