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
  /**
   * Resolves with the exit code once the worker has exited and its leases are free; never
   * rejects. A worker that died of an uncaught exception, or whose file could not be loaded,
   * exits with code 1 (like a child process that failed); its error is then in {@link error}.
   */
  readonly exited: Promise<number>;
  /**
   * The uncaught exception the worker died of, or the error that kept its file from loading
   * (`ERR_MODULE_NOT_FOUND`, a syntax error); `undefined` while it runs and after a clean exit.
   * Set before {@link exited} resolves. The parent never crashes on it: the worker's 'error'
   * event is handled here (listeners of your own on `worker` still get it).
   */
  readonly error: Error | undefined;
}

/**
 * Starts a worker thread whose `attachBudget()` draws from `server`'s budgets. The worker gets a
 * dedicated MessagePort (posted to it with the key `@sluice/budget-port`) and `SLUICE_BUDGET=worker:`.
 * When the worker exits, for whatever reason, its leases are released at once.
 *
 * A worker that throws an uncaught exception (before or after `attachBudget()`), or whose file does
 * not exist, does not take the parent down: `exited` resolves with its exit code (1), `error`
 * holds the exception and its leases are released.
 *
 * @throws SluiceError kind `config` when `env` is `SHARE_ENV` (the worker needs its own variable),
 *   or when Node refuses `file` outright (a relative path without `./`, a URL that is not
 *   `file:` or `data:`).
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

  let worker: Worker;
  try {
    worker = new Worker(file, {
      ...workerOptions,
      env: { ...(env ?? process.env), [BUDGET_ENV]: 'worker:' },
    });
  } catch (cause) {
    throw new SluiceError({
      kind: 'config',
      message: `spawnWorker: Node could not start a worker from file ${JSON.stringify(String(file))}: ${(cause as Error).message}`,
      hint: "Pass an absolute path, a path starting with './' or '../', or a file: URL such as new URL('./sub-agent.js', import.meta.url).",
      cause,
    });
  }
  // Without a listener, a worker's uncaught exception (or a file that fails to load) is rethrown
  // in the parent as an uncaughtException. Keep it for the caller instead; 'exit' follows.
  let failure: Error | undefined;
  worker.on('error', (error) => {
    failure ??= error instanceof Error ? error : new Error(String(error));
  });

  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ [WORKER_PORT_KEY]: port2 }, [port2]);

  const channel = messagePortChannel<ClientFrame, ServerFrame>(port1);
  // The worker's own handle decides how long the parent lives, not the budget port.
  channel.unref();
  const connection = server.accept(channel, { session, label: `worker ${worker.threadId}` });

  const exited = new Promise<number>((resolve) => {
    worker.once('exit', (code) => {
      connection.close(
        failure
          ? `the worker failed with an uncaught ${failure.name} and exited with code ${code}`
          : `the worker exited with code ${code}`,
      );
      port1.close();
      void connection.closed.then(() => resolve(code));
    });
  });
  return {
    worker,
    connection,
    exited,
    get error() {
      return failure;
    },
  };
}
