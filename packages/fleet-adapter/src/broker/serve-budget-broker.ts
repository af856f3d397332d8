import { chmod, lstat, mkdir, mkdtemp, rm, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { SluiceError } from '@sluice/core';
import type { BudgetRegistry } from '@sluice/core';

import { BUDGET_ENV } from '../attach/attach-budget.js';
import type { ClientFrame, ServerFrame } from '../protocol/budget-protocol.js';
import { socketChannel } from '../protocol/frame-channels.js';
import {
  createBudgetServer,
  type BudgetConnection,
  type BudgetServer,
} from '../server/budget-server.js';

/** Options of {@link serveBudgetBroker}. */
export interface BudgetBrokerOptions {
  /**
   * Socket path. Default: `budget.sock` in a fresh owner-only (0700) directory under the OS temp
   * dir. A missing parent directory is created with mode 0700; a stale socket file is replaced.
   */
  path?: string;
  /**
   * Sets `process.env.SLUICE_BUDGET` to the broker's url while it runs (restored on close), so
   * every process started from here on, by any tool, finds it. Default true.
   */
  advertise?: boolean;
  /** Serve through this budget server (the fleet's, for accounting) instead of a new one. */
  server?: BudgetServer;
}

/** A running Unix-socket budget broker. */
export interface BudgetBroker {
  /** Absolute socket path. */
  readonly path: string;
  /** `unix:<path>`, the value of `SLUICE_BUDGET` that attaches to this broker. */
  readonly url: string;
  /** `{ SLUICE_BUDGET: url }`, to merge into the env of a process started by other means. */
  readonly env: Record<string, string>;
  readonly server: BudgetServer;
  /** Connections open now. */
  readonly connections: ReadonlySet<BudgetConnection>;
  /**
   * Stops accepting, drops every client (their leases are released, their next acquire fails
   * with `budget-unavailable`) and removes the socket (and the directory it created).
   */
  close(): Promise<void>;
}

/**
 * Serves `registry`'s budgets on a Unix socket, for processes the parent did not spawn: they
 * call `attachBudget()` with `SLUICE_BUDGET=unix:<path>`. Frames are line-delimited JSON.
 *
 * Only the owner may connect: the socket is chmod 0600 and, by default, lives in a 0700
 * directory, so no other local user can take leases or read budget state. A client that
 * disconnects, exits or is killed frees its leases at once.
 *
 * @throws SluiceError kind `config` when `path` is already served by a live process, or its
 *   parent is not a directory.
 */
export async function serveBudgetBroker(
  registry: BudgetRegistry,
  options: BudgetBrokerOptions = {},
): Promise<BudgetBroker> {
  const { path, createdDir } = await prepareSocketPath(options.path);
  const server = options.server ?? createBudgetServer(registry);
  const connections = new Set<BudgetConnection>();
  let clients = 0;

  const net = createServer((socket: Socket) => {
    const label = `socket client ${++clients}`;
    const channel = socketChannel<ClientFrame, ServerFrame>(socket, { describe: label });
    const connection = server.accept(channel, { label });
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
  });
  await listen(net, path);
  await chmod(path, 0o600);

  const url = `unix:${path}`;
  const advertise = options.advertise ?? true;
  const previous = process.env[BUDGET_ENV];
  if (advertise) process.env[BUDGET_ENV] = url;

  let closing: Promise<void> | undefined;
  return {
    path,
    url,
    env: { [BUDGET_ENV]: url },
    server,
    connections,
    close() {
      closing ??= (async () => {
        if (advertise && process.env[BUDGET_ENV] === url) {
          if (previous === undefined) delete process.env[BUDGET_ENV];
          else process.env[BUDGET_ENV] = previous;
        }
        const stopped = new Promise<void>((resolve) => net.close(() => resolve()));
        for (const connection of [...connections]) {
          connection.close('the budget broker shut down');
        }
        await stopped;
        await rm(createdDir ?? path, { recursive: createdDir !== undefined, force: true });
      })();
      return closing;
    },
  };
}

async function prepareSocketPath(
  requested: string | undefined,
): Promise<{ path: string; createdDir: string | undefined }> {
  if (requested === undefined) {
    // mkdtemp creates the directory with mode 0700.
    const dir = await mkdtemp(join(tmpdir(), 'sluice-budget-'));
    return { path: join(dir, 'budget.sock'), createdDir: dir };
  }

  const dir = dirname(requested);
  const dirStat = await lstat(dir).catch(() => undefined);
  if (dirStat === undefined) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } else if (!dirStat.isDirectory()) {
    throw new SluiceError({
      kind: 'config',
      message: `serveBudgetBroker: ${dir} is not a directory, so ${requested} cannot be served.`,
      hint: 'Pass a path inside a directory you own, or leave path out for a private temp dir.',
    });
  }

  const existing = await lstat(requested).catch(() => undefined);
  if (existing !== undefined) {
    if (!existing.isSocket()) {
      throw new SluiceError({
        kind: 'config',
        message: `serveBudgetBroker: ${requested} exists and is not a socket; refusing to replace it.`,
        hint: 'Pass a path that does not exist yet.',
      });
    }
    if (await isServed(requested)) {
      throw new SluiceError({
        kind: 'config',
        message: `serveBudgetBroker: ${requested} is already served by a running broker.`,
        hint: `Attach to it with ${BUDGET_ENV}=unix:${requested}, or pick another path.`,
      });
    }
    // A socket file left by a broker that died without closing.
    await unlink(requested);
  }
  return { path: requested, createdDir: undefined };
}

function isServed(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
