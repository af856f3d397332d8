import { createConnection } from 'node:net';
import { isMainThread, parentPort, type MessagePort } from 'node:worker_threads';

import {
  SluiceError,
  closestName,
  valueForMessage,
  createBudgetRegistry,
  defaultBudgetRegistry,
} from '@sluice/core';
import type { BudgetBackend, BudgetRegistry } from '@sluice/core';

import {
  createRemoteBudgetBackend,
  type EventSource,
  type RemoteBudgetBackend,
} from '../client/remote-budget-backend.js';
import type { ClientFrame, ServerFrame } from '../protocol/budget-protocol.js';
import { deferredChannel } from '../protocol/deferred-channel.js';
import { ipcChannel, messagePortChannel, socketChannel } from '../protocol/frame-channels.js';
import { checkHandshakeTimeout } from '../util/check-options.js';

/** The environment variable that tells a process where its parent's budgets are. */
export const BUDGET_ENV = 'SLUICE_BUDGET';

/** Key of the message that hands a spawned worker its budget port over `parentPort`. */
export const WORKER_PORT_KEY = '@sluice/budget-port';

/**
 * A budget registry whose budgets live with a parent: pass it to `createRouter({ budgets })`.
 * Every budget key maps to the parent's one budget of that key.
 */
export interface AttachedBudget extends BudgetRegistry {
  /** Where the budgets live: `worker:`, `ipc:`, `unix:/path`, or `memory:` for the fallback. */
  readonly url: string;
  /**
   * Aborts when the parent cancels the session this process or worker belongs to. Pass it as
   * the `signal` of `router.chat()` so the cancel reaches requests already streaming. A cancel
   * is permanent: every read after it returns the same aborted signal, and every acquire from
   * then on rejects at once with an `aborted` SluiceError naming the session (no lease, nothing
   * sent), with or without the signal. The fallback and Redis budgets have no parent session:
   * theirs never aborts.
   */
  readonly cancelSignal: AbortSignal;
  /**
   * Sends `router`'s telemetry to the parent, so the parent's fleet accounts this worker's
   * requests, time to first token, tokens and failures under its session. Returns the function
   * that stops it. Call it right after `createRouter`, before the first request. Absent where
   * there is no parent session to report to (a Redis budget shared across machines).
   */
  forwardEvents?(router: EventSource): () => void;
  /** Resolves once the parent answered; rejects with `budget-unavailable` if it cannot. */
  ready(): Promise<void>;
  /** Disconnects; the parent frees this side's leases and withdraws its waiters. */
  close(): Promise<void>;
}

/** Options of {@link attachBudget}. */
export interface AttachBudgetOptions {
  /** Where to attach; default: the `SLUICE_BUDGET` environment variable. */
  url?: string;
  /** Environment to read `SLUICE_BUDGET` from; default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * What to do when there is nothing to attach to (no url, no `SLUICE_BUDGET`): `error` (default)
   * throws a `config` SluiceError; `memory` returns the process-wide in-memory registry, for code
   * that runs both under a fleet and on its own.
   */
  fallback?: 'error' | 'memory';
  /**
   * How long the parent has to answer the handshake, in ms: a finite number from 1 to
   * 2 147 483 647 (the longest timer Node keeps). Default 5000.
   */
  handshakeTimeoutMs?: number;
}

const ATTACH_OPTION_KEYS = ['url', 'env', 'fallback', 'handshakeTimeoutMs'] as const;

/**
 * Opens an attached budget for one url. `url` is the whole value (`unix:/run/b.sock`); the
 * handler must not block and must report a lost owner as `budget-unavailable`.
 */
export type BudgetSchemeHandler = (url: string, options: AttachBudgetOptions) => AttachedBudget;

// Both tables live on `globalThis` (like core's default budget registry), so duplicate copies of
// this package in one process (the ESM and CJS builds, or a separately bundled entry) share
// them: two copies attached to one IPC channel would each read the other's replies.
const store = globalThis as unknown as Record<symbol, unknown>;
const SCHEMES_KEY = Symbol.for('@sluice/fleet-adapter/budget-schemes');
const ATTACHED_KEY = Symbol.for('@sluice/fleet-adapter/attached-budgets');
const schemes = (store[SCHEMES_KEY] ??= new Map<string, BudgetSchemeHandler>([
  ['worker', attachWorker],
  ['ipc', attachIpc],
  ['unix', attachUnix],
])) as Map<string, BudgetSchemeHandler>;
const attached = (store[ATTACHED_KEY] ??= new Map<string, AttachedBudget>()) as Map<
  string,
  AttachedBudget
>;

/**
 * Teaches {@link attachBudget} a new `SLUICE_BUDGET` scheme, for example `redis` for a budget
 * shared across machines. Built in: `worker`, `ipc`, `unix`.
 *
 * @throws SluiceError kind `config` when the scheme is not lowercase letters, digits or `+-.`.
 */
export function registerBudgetScheme(scheme: string, handler: BudgetSchemeHandler): void {
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) {
    throw new SluiceError({
      kind: 'config',
      message: `registerBudgetScheme: "${scheme}" is not a URL scheme.`,
      hint: 'Pass the scheme without the colon, in lowercase, e.g. "redis".',
    });
  }
  schemes.set(scheme, handler);
}

/**
 * Returns the budgets of the parent that started this worker thread or process, to pass to
 * `createRouter({ config, budgets })`: every `router.chat()` then draws from the parent's budget,
 * never from one of its own. Reads `SLUICE_BUDGET`, which `fleet.spawnWorker()` and
 * `fleet.spawnProcess()` set (`worker:`, `ipc:`) and `serveBudgetBroker()` advertises
 * (`unix:/path`). Repeated calls for the same url return the same registry.
 *
 * Synchronous: requests made before the parent answered wait for it. If the parent goes away,
 * or never answers, every acquire fails fast with a `budget-unavailable` SluiceError.
 *
 * @example
 * ```ts
 * import { attachBudget } from '@sluice/fleet-adapter';
 * const router = createRouter({ config, budgets: attachBudget() });
 * ```
 *
 * @throws SluiceError kind `config` when an option is not accepted (an unknown key, a
 *   `handshakeTimeoutMs` that is not a number of ms from 1 to 2147483647, a `fallback` other than
 *   `error`/`memory`), when there is nothing to attach to (and `fallback` is not `memory`), when
 *   the scheme is unknown, or when `worker:`/`ipc:` is used outside a worker or forked child.
 */
export function attachBudget(options: AttachBudgetOptions = {}): AttachedBudget {
  checkAttachOptions(options);
  const env = options.env ?? process.env;
  const url = options.url ?? env[BUDGET_ENV];
  if (url === undefined || url === '') {
    if (options.fallback === 'memory') return memoryFallback();
    throw new SluiceError({
      kind: 'config',
      message: `attachBudget: there is no parent budget to attach to (${BUDGET_ENV} is not set).`,
      hint: `Start this code with fleet.spawnWorker()/fleet.spawnProcess(), set ${BUDGET_ENV}=unix:/path/to/broker.sock, or pass { fallback: 'memory' }.`,
    });
  }

  const existing = attached.get(url);
  if (existing) return existing;
  const colon = url.indexOf(':');
  const scheme = colon > 0 ? url.slice(0, colon) : '';
  const handler = schemes.get(scheme);
  if (!handler) {
    throw new SluiceError({
      kind: 'config',
      message: `attachBudget: ${BUDGET_ENV}="${url}" has an unknown scheme "${scheme}".`,
      hint: `Use one of ${[...schemes.keys()].map((name) => `${name}:`).join(', ')}; other schemes need their package (e.g. a Redis backend) loaded first.`,
    });
  }

  const budget = handler(url, options);
  attached.set(url, budget);
  const close = budget.close.bind(budget);
  budget.close = async () => {
    attached.delete(url);
    await close();
  };
  return budget;
}

function optionError(message: string, hint: string): SluiceError {
  return new SluiceError({ kind: 'config', message: `attachBudget: ${message}`, hint });
}

/** @throws SluiceError kind `config` naming the first option that is not accepted. */
function checkAttachOptions(options: AttachBudgetOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw optionError(
      `options must be an object, got ${valueForMessage(options)}.`,
      'Call attachBudget() or attachBudget({ url, fallback, handshakeTimeoutMs }).',
    );
  }
  for (const key of Object.keys(options)) {
    if ((ATTACH_OPTION_KEYS as readonly string[]).includes(key)) continue;
    const suggestion = closestName(key, ATTACH_OPTION_KEYS);
    throw optionError(
      `unknown option "${key}"${suggestion ? `; did you mean "${suggestion}"?` : '.'}`,
      `Its options are ${ATTACH_OPTION_KEYS.join(', ')}.`,
    );
  }
  const { url, env, fallback, handshakeTimeoutMs } = options;
  if (url !== undefined && typeof url !== 'string') {
    throw optionError(
      `url must be a string such as "unix:/path/budget.sock", got ${valueForMessage(url)}.`,
      `Pass the value serveBudgetBroker() advertises, or leave url out to read ${BUDGET_ENV}.`,
    );
  }
  if (env !== undefined && (typeof env !== 'object' || env === null || Array.isArray(env))) {
    throw optionError(
      `env must be an object of environment variables, got ${valueForMessage(env)}.`,
      'Pass e.g. { env: process.env }, or leave env out.',
    );
  }
  if (fallback !== undefined && fallback !== 'error' && fallback !== 'memory') {
    throw optionError(
      `fallback must be 'error' or 'memory', got ${valueForMessage(fallback)}.`,
      "Use 'memory' to run on the in-process budgets when there is no parent, or leave it out.",
    );
  }
  checkHandshakeTimeout('attachBudget', handshakeTimeoutMs);
}

/**
 * Wraps a remote backend into an {@link AttachedBudget}: one budget per key via the core
 * registry (stricter limit wins), plus the backend's readiness, cancel signal and close.
 */
export function attachedRegistry(url: string, backend: RemoteBudgetBackend): AttachedBudget {
  const registry = createBudgetRegistry({ backend });
  return {
    url,
    backend: registry.backend,
    get: (key, getOptions) => registry.get(key, getOptions),
    list: () => registry.list(),
    get cancelSignal() {
      return backend.cancelSignal;
    },
    forwardEvents: (router) => backend.forwardEvents(router),
    ready: () => backend.ready(),
    close: () => registry.close(),
  };
}

function memoryFallback(): AttachedBudget {
  const registry = defaultBudgetRegistry();
  const never = new AbortController().signal;
  return {
    url: 'memory:',
    get backend(): BudgetBackend {
      return registry.backend;
    },
    get: (key, getOptions) => registry.get(key, getOptions),
    list: () => registry.list(),
    cancelSignal: never,
    // Nobody above to report to: the router's own subscribers see everything.
    forwardEvents: () => () => undefined,
    ready: () => Promise.resolve(),
    // The process-wide registry outlives any one caller.
    close: () => Promise.resolve(),
  };
}

function attachWorker(url: string, options: AttachBudgetOptions): AttachedBudget {
  const port = parentPort;
  if (isMainThread || port === null) {
    throw new SluiceError({
      kind: 'config',
      message: `attachBudget: ${BUDGET_ENV}="${url}" names a worker channel, but this code runs on the main thread.`,
      hint: `Start the worker with fleet.spawnWorker(), or unset ${BUDGET_ENV}.`,
    });
  }

  // The parent posts the budget port right after starting the worker; the listener keeps the
  // worker alive only until it arrives (or the handshake times out).
  const onMessage = (message: unknown): void => {
    if (typeof message !== 'object' || message === null || !(WORKER_PORT_KEY in message)) return;
    port.off('message', onMessage);
    const budgetPort = (message as Record<string, MessagePort>)[WORKER_PORT_KEY];
    if (budgetPort) deferred.connect(messagePortChannel<ServerFrame, ClientFrame>(budgetPort));
  };
  const deferred = deferredChannel<ServerFrame, ClientFrame>({
    onClose: () => port.off('message', onMessage),
  });
  port.on('message', onMessage);

  const backend = createRemoteBudgetBackend(deferred.channel, {
    name: 'ipc',
    owner: 'the parent thread',
    hint: 'The thread that started this worker has closed its fleet; end this worker, or give its router a budget of its own.',
    handshakeTimeoutMs: options.handshakeTimeoutMs,
  });
  return attachedRegistry(url, backend);
}

function attachIpc(url: string, options: AttachBudgetOptions): AttachedBudget {
  if (typeof process.send !== 'function') {
    throw new SluiceError({
      kind: 'config',
      message: `attachBudget: ${BUDGET_ENV}="${url}" names an IPC channel, but this process has none (it was not forked).`,
      hint: `Start the process with fleet.spawnProcess(), or serve a broker and set ${BUDGET_ENV}=unix:/path.`,
    });
  }
  const channel = ipcChannel<ServerFrame, ClientFrame>(process, { side: 'child' });
  const backend = createRemoteBudgetBackend(channel, {
    name: 'ipc',
    owner: 'the parent process',
    hint: 'The process that forked this one has exited or closed its fleet; end this process, or give its router a budget of its own.',
    handshakeTimeoutMs: options.handshakeTimeoutMs,
  });
  return attachedRegistry(url, backend);
}

function attachUnix(url: string, options: AttachBudgetOptions): AttachedBudget {
  // `unix:/run/b.sock` and `unix:///run/b.sock` both name /run/b.sock.
  const path = url.slice('unix:'.length).replace(/^\/\/(?=\/)/, '');
  if (!path.startsWith('/')) {
    throw new SluiceError({
      kind: 'config',
      message: `attachBudget: ${BUDGET_ENV}="${url}" must name an absolute socket path.`,
      hint: 'Use the value serveBudgetBroker() advertises, e.g. unix:/tmp/sluice-budget-abc/budget.sock.',
    });
  }
  const socket = createConnection({ path });
  const channel = socketChannel<ServerFrame, ClientFrame>(socket, { describe: 'the broker' });
  const backend = createRemoteBudgetBackend(channel, {
    name: 'socket',
    owner: `the budget broker at unix:${path}`,
    hint: `Restart the process that serves the broker, or unset ${BUDGET_ENV} to use an in-process budget.`,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
  });
  return attachedRegistry(url, backend);
}
