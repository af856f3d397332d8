import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';

import { BUDGET_ENV } from '../attach/attach-budget.js';
import type { ClientFrame, ServerFrame } from '../protocol/budget-protocol.js';
import { ipcChannel } from '../protocol/frame-channels.js';
import type { BoundSession, BudgetConnection, BudgetServer } from '../server/budget-server.js';

/** Options of {@link spawnBudgetProcess}: Node's `ForkOptions` plus the session to bind. */
export interface SpawnBudgetProcessOptions extends ForkOptions {
  /** The session the child's leases count against. */
  session?: BoundSession;
}

/** A forked child process connected to a budget server. */
export interface BudgetProcess {
  readonly child: ChildProcess;
  readonly connection: BudgetConnection;
  /** Resolves once the child has exited and its leases are free. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Forks `modulePath` with `SLUICE_BUDGET=ipc:`, so its `attachBudget()` draws from `server`'s
 * budgets over the IPC channel (frames travel under the key `@sluice/budget`, leaving the
 * channel free for the caller's own messages). When the child exits or is killed, even with
 * SIGKILL, its leases are released at once: the IPC pipe closes with the process.
 */
export function spawnBudgetProcess(
  server: BudgetServer,
  modulePath: string,
  args: readonly string[] = [],
  options: SpawnBudgetProcessOptions = {},
): BudgetProcess {
  const { session, ...forkOptions } = options;
  const child = fork(modulePath, args, {
    ...forkOptions,
    env: { ...(forkOptions.env ?? process.env), [BUDGET_ENV]: 'ipc:' },
  });
  const channel = ipcChannel<ClientFrame, ServerFrame>(child, { side: 'parent' });
  const connection = server.accept(channel, {
    session,
    label: `process ${child.pid ?? '(not started)'}`,
  });

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      connection.close(
        signal
          ? `the child process was killed by ${signal}`
          : `the child process exited with code ${code}`,
      );
      void connection.closed.then(() => resolve({ code, signal }));
    });
    // A fork that fails to start emits 'error' and no 'exit'; nothing may wait on it forever.
    child.once('error', (error) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.pid !== undefined && child.connected) return;
      connection.close(`the child process failed to start (${error.message})`);
      void connection.closed.then(() => resolve({ code: null, signal: null }));
    });
  });
  return { child, connection, exited };
}
