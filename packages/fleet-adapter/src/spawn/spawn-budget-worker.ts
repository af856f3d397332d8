import { MessageChannel, SHARE_ENV, Worker, type WorkerOptions } from 'node:worker_threads';

import { SluiceError } from '@sluice/core';

import { BUDGET_ENV, WORKER_PORT_KEY } from '../attach/attach-budget.js';
import type { ClientFrame, ServerFrame } from '../protocol/budget-protocol.js';
import { messagePortChannel } from '../protocol/frame-channels.js';
import type { BoundSession, BudgetConnection, BudgetServer } from '../server/budget-server.js';

/** Options of {@link spawnBudgetWorker}: Node's `WorkerOptions` with a plain-object `env`. */
export interface SpawnBudgetWorkerOptions extends Omit<WorkerOptions, 'env'> {
  /** The worker's environment; default a copy of `process.env`. `SLUICE_BUDGET` is added. */
  env?: Record<string, string | undefined>;
  /** The session the worker's leases count against. */
  session?: BoundSession;
}

/** A worker thread connected to a budget server. */
export interface BudgetWorker {
  readonly worker: Worker;
  readonly connection: BudgetConnection;
  /** Resolves with the exit code once the worker has exited and its leases are free. */
  readonly exited: Promise<number>;
}

/**
 * Starts a worker thread whose `attachBudget()` draws from `server`'s budgets. The worker gets a
 * dedicated MessagePort (posted to it with the key `@sluice/budget-port`) and `SLUICE_BUDGET=worker:`.
 * When the worker exits, for whatever reason, its leases are released at once.
 *
 * @throws SluiceError kind `config` when `env` is `SHARE_ENV` (the worker needs its own variable).
 */
export function spawnBudgetWorker(
  server: BudgetServer,
  file: string | URL,
  options: SpawnBudgetWorkerOptions = {},
): BudgetWorker {
  const { session, env, ...workerOptions } = options;
  if ((env as unknown) === SHARE_ENV) {
    throw new SluiceError({
      kind: 'config',
      message: 'spawnWorker: env cannot be SHARE_ENV; the worker needs its own SLUICE_BUDGET.',
      hint: 'Pass a plain object (or leave env out to copy process.env).',
    });
  }

  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(file, {
    ...workerOptions,
    env: { ...(env ?? process.env), [BUDGET_ENV]: 'worker:' },
  });
  worker.postMessage({ [WORKER_PORT_KEY]: port2 }, [port2]);

  const channel = messagePortChannel<ClientFrame, ServerFrame>(port1);
  // The worker's own handle decides how long the parent lives, not the budget port.
  channel.unref();
  const connection = server.accept(channel, { session, label: `worker ${worker.threadId}` });

  const exited = new Promise<number>((resolve) => {
    worker.once('exit', (code) => {
      connection.close(`the worker exited with code ${code}`);
      port1.close();
      void connection.closed.then(() => resolve(code));
    });
  });
  return { worker, connection, exited };
}
