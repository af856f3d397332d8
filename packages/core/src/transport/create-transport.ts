import { Agent } from 'undici';

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
    close: () => {
      closed ??= dispatcher.destroy().catch(() => {});
      return closed;
    },
  };
}
