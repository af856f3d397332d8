import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SluiceError } from '@sluice/core';
import { z } from 'zod';

import { checkOptions, wholeMs, type OptionRule } from './check-options.js';
import { renderDashboardPage } from './dashboard-page.js';
import { createReadinessMetrics } from './readiness-metrics.js';
import type { ReadinessTracker } from './readiness-tracker.js';
import { toReadinessJSON } from './to-readiness-json.js';

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  tracker: Pick<ReadinessTracker, 'snapshot' | 'subscribe'>;
  /** TCP port; default 0 (a free port, read it from `url`). */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`. Any non-loopback host requires `token`. */
  host?: string;
  /**
   * Required on every request when set, as `?token=` or `Authorization: Bearer`. At least 16
   * characters; {@link createDashboardToken} makes one.
   */
  token?: string;
  /**
   * Interval of SSE snapshot pushes, in ms (besides pushes on change): a whole number from
   * {@link MIN_PUSH_GAP_MS} (250) up. Default 1000.
   */
  intervalMs?: number;
  /**
   * Shortest gap between two pushes to a client, in ms: a whole number from
   * {@link MIN_PUSH_GAP_MS} (250) up, so a client never gets more than 4 snapshots a second.
   * Default 250.
   */
  minPushGapMs?: number;
  /** Page title. Default `Sluice readiness`. */
  title?: string;
}

/** A running dashboard. */
export interface Dashboard {
  /** The page's URL, with `?token=` when a token is set. */
  readonly url: string;
  readonly port: number;
  /** Ends every SSE stream and closes the server. Idempotent. */
  close(): Promise<void>;
}

/** The shortest gap between two SSE pushes: at most 4 snapshots per second reach a client. */
export const MIN_PUSH_GAP_MS = 250;

const PER_SECOND = ' (a client gets at most 4 snapshots a second)';
const DASHBOARD_OPTION_RULES: Record<string, OptionRule> = {
  tracker: {
    schema: z.custom((value) => {
      const tracker = value as { snapshot?: unknown; subscribe?: unknown } | null;
      return typeof tracker?.snapshot === 'function' && typeof tracker.subscribe === 'function';
    }),
    accepts: 'a readiness tracker',
    example: '{ tracker: createReadinessTracker({ router }) }',
  },
  port: {
    schema: z.number().int().min(0).max(65_535),
    accepts: 'a whole number from 0 to 65535',
    example: '{ port: 7357 } (0 picks a free port)',
  },
  host: {
    schema: z.string().min(1),
    accepts: 'a host name or address',
    example: "{ host: '127.0.0.1' } (the default)",
  },
  token: {
    schema: z.string(),
    accepts: 'a string',
    example: '{ token: createDashboardToken() }',
  },
  intervalMs: wholeMs(MIN_PUSH_GAP_MS, '{ intervalMs: 1000 } (the default)', PER_SECOND),
  minPushGapMs: wholeMs(MIN_PUSH_GAP_MS, '{ minPushGapMs: 250 } (the default)', PER_SECOND),
  title: { schema: z.string(), accepts: 'a string', example: "{ title: 'Sluice readiness' }" },
};

/** A random token for {@link DashboardOptions.token}: 32 URL-safe characters. */
export function createDashboardToken(): string {
  return randomBytes(24).toString('base64url');
}

/** True for hosts that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

function configError(message: string, hint: string): SluiceError {
  return new SluiceError({ kind: 'config', phase: 'config', message, hint });
}

function tokenMatches(expected: string, request: IncomingMessage, url: URL): boolean {
  const header = request.headers.authorization;
  const given =
    url.searchParams.get('token') ??
    (header?.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : undefined);
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

// Without a token the dashboard trusts "only this machine can connect". A DNS-rebinding page
// in the user's browser could still reach 127.0.0.1 under a foreign host name; refusing any
// Host header that is not a loopback name closes that hole.
function hostAllowed(request: IncomingMessage): boolean {
  const host = request.headers.host;
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return isLoopbackHost(name ?? '');
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  response.end(body);
}

/**
 * Serves the live readiness dashboard over node:http: `/` (one HTML page), `/events` (SSE: a
 * snapshot every `intervalMs` and on change), `/readiness.json` and `/metrics` (Prometheus),
 * all from the same tracker. Binds 127.0.0.1 by default.
 *
 * @throws SluiceError (kind `config`) when an option is not accepted (an unknown key,
 *   `intervalMs` or `minPushGapMs` below 250 ms or not a whole number, a port outside 0-65535,
 *   no tracker), when `host` is not loopback and no token is given, or the token is shorter than
 *   16 characters; rejects when the port cannot be bound.
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  if (typeof options !== 'object' || options === null) {
    throw configError(
      'startDashboard: options must be an object with a tracker.',
      'Call startDashboard({ tracker: createReadinessTracker({ router }) }).',
    );
  }
  if (options.tracker === undefined) {
    throw configError(
      'startDashboard: tracker is missing.',
      'Pass startDashboard({ tracker: createReadinessTracker({ router }) }).',
    );
  }
  checkOptions('startDashboard', options, DASHBOARD_OPTION_RULES, true);
  const host = options.host ?? '127.0.0.1';
  const token = options.token;
  const loopback = isLoopbackHost(host);
  if (!loopback && !token) {
    throw configError(
      `Refusing to serve the dashboard on ${host} without a token: anyone who can reach it would see your routes and load.`,
      'Pass a token (createDashboardToken()), or bind 127.0.0.1.',
    );
  }
  if (token !== undefined && token.length < 16) {
    throw configError(
      'The dashboard token is shorter than 16 characters.',
      'Use createDashboardToken() for a random one.',
    );
  }

  const intervalMs = options.intervalMs ?? 1000;
  const minPushGapMs = options.minPushGapMs ?? 250;
  const metrics = createReadinessMetrics({ snapshot: () => options.tracker.snapshot() });
  const clients = new Set<ServerResponse>();
  let lastPushAt = 0;
  let pendingPush: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;

  // Runs from timers: a snapshot that throws (a session source of a fleet that went away, a
  // projection bug caught by the schema) must reach the page as an error frame, never crash the
  // process that hosts the dashboard.
  function frame(): string {
    try {
      return `data: ${toReadinessJSON(options.tracker.snapshot(), 0)}\n\n`;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return `event: snapshot-error\ndata: ${JSON.stringify({ message })}\n\n`;
    }
  }

  function push(): void {
    if (pendingPush) clearTimeout(pendingPush);
    pendingPush = undefined;
    lastPushAt = Date.now();
    if (clients.size === 0) return;
    const text = frame();
    for (const client of clients) client.write(text);
  }

  // Changes arrive in bursts (one per telemetry event); coalesce them so a busy fleet costs
  // one serialization per `minPushGapMs`, not one per event. The interval's pushes go through
  // the same gate, so together they never exceed one push per `minPushGapMs`.
  function schedulePush(): void {
    if (clients.size === 0 || pendingPush) return;
    const wait = Math.max(0, lastPushAt + minPushGapMs - Date.now());
    pendingPush = setTimeout(push, wait);
  }
  const unsubscribe = options.tracker.subscribe(schedulePush);

  function openStream(response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.write('retry: 2000\n\n');
    clients.add(response);
    response.write(frame());
    if (!ticker) ticker = setInterval(schedulePush, intervalMs);
    response.on('close', () => {
      clients.delete(response);
      if (clients.size === 0 && ticker) {
        clearInterval(ticker);
        ticker = undefined;
      }
    });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
    if (token ? !tokenMatches(token, request, url) : !hostAllowed(request)) {
      send(response, token ? 401 : 403, 'text/plain; charset=utf-8', 'Forbidden\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(response, 405, 'text/plain; charset=utf-8', 'Method not allowed\n');
      return;
    }

    switch (url.pathname) {
      case '/': {
        const nonce = randomBytes(16).toString('base64');
        response.setHeader(
          'content-security-policy',
          `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
        );
        send(
          response,
          200,
          'text/html; charset=utf-8',
          renderDashboardPage({ nonce, title: options.title }),
        );
        return;
      }
      case '/events':
        openStream(response);
        return;
      case '/readiness.json':
        send(response, 200, 'application/json', toReadinessJSON(options.tracker.snapshot()));
        return;
      case '/metrics':
        send(response, 200, metrics.contentType, await metrics.render());
        return;
      default:
        send(response, 404, 'text/plain; charset=utf-8', 'Not found\n');
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', `${message}\n`);
      else response.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  let closing: Promise<void> | undefined;

  return {
    url,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        unsubscribe();
        if (ticker) clearInterval(ticker);
        if (pendingPush) clearTimeout(pendingPush);
        for (const client of clients) client.end();
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
