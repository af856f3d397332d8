import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SluiceError } from '@sluice/core';
import type { BudgetRegistry, Router } from '@sluice/core';

import {
  serveBudgetBroker,
  type BudgetBroker,
  type BudgetBrokerOptions,
} from '../broker/serve-budget-broker.js';
import { createBudgetServer, type BudgetServer } from '../server/budget-server.js';
import {
  spawnBudgetProcess,
  type BudgetProcess,
  type SpawnBudgetProcessOptions,
} from '../spawn/spawn-budget-process.js';
import {
  spawnBudgetWorker,
  type BudgetWorker,
  type SpawnBudgetWorkerOptions,
} from '../spawn/spawn-budget-worker.js';
import type { SessionStats } from './session-accounting.js';
import {
  FleetSession,
  type Session,
  type SessionHost,
  type SpawnSessionOptions,
} from './session.js';

/** Options of {@link createFleet}. */
export interface FleetOptions {
  /** The router every session uses; its budget registry is the fleet's one set of budgets. */
  router: Router;
  /** Name (and id) of the root session. Default `root`. */
  rootName?: string;
  /**
   * Default queue priorities. The root (the interactive parent) goes ahead of its sub-agents by
   * default, so the user-facing turn is never stuck behind background work. Default
   * `{ root: 10, child: 0 }`; `session.spawn(name, { priority })` overrides per session.
   */
  priorities?: { root?: number; child?: number };
}

/** Where a spawned worker or process sits in the session tree. */
export interface FleetSpawnOptions extends SpawnSessionOptions {
  /** Session name; default the file name without extension. */
  name?: string;
  /** Parent session; default the root. */
  parent?: Session;
}

/** Options of {@link Fleet.spawnWorker}. */
export type FleetWorkerOptions = Omit<SpawnBudgetWorkerOptions, 'session'> & FleetSpawnOptions;

/** Options of {@link Fleet.spawnProcess}. */
export type FleetProcessOptions = Omit<SpawnBudgetProcessOptions, 'session'> & FleetSpawnOptions;

/** A worker thread drawing from the fleet's budgets, with the session its leases count against. */
export interface FleetWorker extends BudgetWorker {
  readonly session: Session;
}

/** A child process drawing from the fleet's budgets, with the session its leases count against. */
export interface FleetProcess extends BudgetProcess {
  readonly session: Session;
}

/** A session tree over one router: the parent agent, its sub-agents, workers and processes. */
export interface Fleet {
  readonly router: Router;
  /** The router's registry: the one budget per provider that every session draws from. */
  readonly budgets: BudgetRegistry;
  readonly root: Session;
  /** Serves the budgets to workers, processes and broker clients. */
  readonly server: BudgetServer;
  /** The session with this id, if any. */
  session(id: string): Session | undefined;
  /** Every session, parents before children. */
  sessions(): Session[];
  /**
   * Starts a worker thread as a new child session. Inside it, `attachBudget()` returns a
   * registry whose budgets are this fleet's; pass it to `createRouter({ config, budgets })`.
   * The worker's leases are freed the moment it exits. A worker that throws or whose file does
   * not exist does not crash this process: `exited` resolves with 1 and `error` holds the error.
   *
   * @throws SluiceError kind `config` when Node refuses `file` outright (e.g. `'sub-agent.js'`
   *   without `./`); no session is added then.
   */
  spawnWorker(file: string | URL, options?: FleetWorkerOptions): FleetWorker;
  /** Forks a child process as a new child session; like {@link spawnWorker}, over IPC. */
  spawnProcess(
    modulePath: string,
    args?: readonly string[],
    options?: FleetProcessOptions,
  ): FleetProcess;
  /**
   * Serves the budgets on a Unix socket for processes this fleet did not start; see
   * {@link serveBudgetBroker}. Closed with the fleet.
   */
  serveBroker(options?: Omit<BudgetBrokerOptions, 'server'>): Promise<BudgetBroker>;
  /** The whole tree's figures. */
  stats(): SessionStats;
  /**
   * Cancels every session's requests, drops every worker, process and broker client (their
   * leases are freed; their next acquire fails with `budget-unavailable`) and stops listening
   * to the router. Does not terminate workers or kill processes.
   */
  close(): Promise<void>;
}

/**
 * Creates a fleet: a root session over `router`, from which sub-agents are spawned at any depth,
 * in this thread, in worker threads or in child processes. Every one of them draws from the
 * router's budgets, so the provider sees at most its limit however the fleet is spread.
 *
 * @example
 * ```ts
 * const fleet = createFleet({ router });
 * const search = fleet.root.spawn('search');
 * const text = await search.chat({ messages: [{ role: 'user', content: 'hi' }] }).text();
 * ```
 *
 * @throws SluiceError kind `config` when `router` is missing or a priority is not a number.
 */
export function createFleet(options: FleetOptions): Fleet {
  const router = options?.router;
  if (!router || typeof router.chat !== 'function' || typeof router.subscribe !== 'function') {
    throw new SluiceError({
      kind: 'config',
      message: 'createFleet: `router` must be a router from createRouter().',
      hint: 'Pass createFleet({ router: createRouter({ config }) }).',
    });
  }
  const rootPriority = options.priorities?.root ?? 10;
  const childPriority = options.priorities?.child ?? 0;
  for (const [field, value] of [
    ['priorities.root', rootPriority],
    ['priorities.child', childPriority],
  ] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new SluiceError({
        kind: 'config',
        message: `createFleet: ${field} must be a finite number, got ${String(value)}.`,
      });
    }
  }

  const byId = new Map<string, FleetSession>();
  const brokers = new Set<BudgetBroker>();
  const host: SessionHost = {
    router,
    childPriority,
    register: (session) => byId.set(session.id, session),
    uniqueId(parent, name) {
      const base = `${parent.id}/${name}`;
      let id = base;
      for (let n = 2; byId.has(id); n++) id = `${base}#${n}`;
      return id;
    },
  };
  const rootName = options.rootName ?? 'root';
  const root = new FleetSession(host, rootName, rootName, undefined, rootPriority, 1);
  byId.set(root.id, root);

  // One subscription for the whole tree; events are routed by the session id the router
  // stamped on them.
  const unsubscribe = router.subscribe((event) => {
    if (event.sessionId !== undefined) byId.get(event.sessionId)?.accounting.record(event);
  });
  // A worker that forwards its router's events is accounted from those (they carry the lease
  // waits too); one that does not is at least accounted by the leases it was granted.
  const server = createBudgetServer(router.budgets, {
    onLease: (event) => {
      if (event.sessionId === undefined || event.connection.forwardsEvents) return;
      byId.get(event.sessionId)?.accounting.recordRemoteLease(event.waitedMs);
    },
    onRouterEvent: (event) => {
      if (event.sessionId !== undefined) byId.get(event.sessionId)?.accounting.record(event.event);
    },
  });

  function placeChild(options: FleetSpawnOptions, fallbackName: string): FleetSession {
    const parent = options.parent ?? root;
    const session = byId.get(parent.id);
    if (session !== parent) {
      throw new SluiceError({
        kind: 'config',
        message: `spawn: parent session "${parent.id}" does not belong to this fleet.`,
      });
    }
    return session.spawn(options.name ?? fallbackName, {
      priority: options.priority,
      share: options.share,
    });
  }

  function unplace(session: FleetSession): void {
    byId.delete(session.id);
    const siblings = session.parent?.children;
    const index = siblings?.indexOf(session) ?? -1;
    if (index >= 0) siblings?.splice(index, 1);
  }

  return {
    router,
    budgets: router.budgets,
    root,
    server,
    session: (id) => byId.get(id),
    sessions: () => root.subtree(),
    spawnWorker(file, workerOptions = {}) {
      const { name, parent, priority, share, ...rest } = workerOptions;
      const session = placeChild({ name, parent, priority, share }, nameOf(file));
      let spawned: BudgetWorker;
      try {
        spawned = spawnBudgetWorker(server, file, {
          ...rest,
          session: { id: session.id, priority: session.priority, share: session.share },
        });
      } catch (error) {
        // Node refused the file outright: no worker, so no session for it in the tree either.
        unplace(session);
        throw error;
      }
      session.bind(spawned.connection);
      // Object.assign keeps `error` a live getter (a spread would copy its current value).
      return Object.assign(spawned, { session });
    },
    spawnProcess(modulePath, args = [], processOptions = {}) {
      const { name, parent, priority, share, ...rest } = processOptions;
      const session = placeChild({ name, parent, priority, share }, nameOf(modulePath));
      const spawned = spawnBudgetProcess(server, modulePath, args, {
        ...rest,
        session: { id: session.id, priority: session.priority, share: session.share },
      });
      session.bind(spawned.connection);
      return { ...spawned, session };
    },
    async serveBroker(brokerOptions = {}) {
      const broker = await serveBudgetBroker(router.budgets, { ...brokerOptions, server });
      brokers.add(broker);
      return broker;
    },
    stats: () => root.stats({ descendants: true }),
    async close() {
      unsubscribe();
      root.cancel(new SluiceError({ kind: 'aborted', message: 'The fleet was closed.' }));
      server.close('the fleet was closed');
      await Promise.all([...brokers].map((broker) => broker.close()));
      brokers.clear();
    },
  };
}

function nameOf(file: string | URL): string {
  const text = String(file);
  // Not a file: URL (data:, http:, a typo): Node's own error comes from spawnBudgetWorker.
  if (/^[a-z][a-z0-9+.-]+:/i.test(text) && !text.startsWith('file:')) return 'worker';
  let path = text;
  try {
    if (text.startsWith('file:')) path = fileURLToPath(text);
  } catch {
    return 'worker';
  }
  return basename(path, extname(path)) || 'worker';
}
