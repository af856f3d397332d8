// Real worker threads and child processes drawing from one parent budget. The code they run
// loads the built dist: run `npx tsup` in packages/core and packages/fleet-adapter first (nx
// does so before `npm test`).
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MessageChannel } from 'node:worker_threads';

import { createBudgetRegistry, SluiceError } from '@sluice/core';
import { startSimulator, type Simulator } from '@sluice/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  attachBudget,
  attachedRegistry,
  createBudgetServer,
  createRemoteBudgetBackend,
  messagePortChannel,
  registerBudgetScheme,
  serveBudgetBroker,
  spawnBudgetProcess,
  spawnBudgetWorker,
  type BudgetBroker,
  type ClientFrame,
  type ServerFrame,
} from '../src/index.js';
import { BUDGET_CLIENT, nextReport, until, type Report } from './helpers.js';

let sim: Simulator;
const cleanups: Array<() => unknown> = [];

beforeEach(async () => {
  // `reject` mode answers 429 past the ceiling, so any over-admission fails a request visibly
  // besides raising the server's peak.
  sim = await startSimulator({
    ceiling: 3,
    mode: 'reject',
    source: 'generate',
    outputTokens: 12,
    tokensPerSecond: 200,
  });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await sim.close();
});

const KEY = 'glm:test';

function streamPlan(requests: number, concurrency: number) {
  return {
    action: 'stream',
    url: `${sim.baseURL}/chat/completions`,
    key: KEY,
    limit: 3,
    requests,
    concurrency,
  };
}

/** The parent's own requests, straight on the owner's budget, at the same time as the children. */
async function parentStreams(registry: ReturnType<typeof createBudgetRegistry>, count: number) {
  const budget = registry.get(KEY, { limit: 3 });
  await Promise.all(
    Array.from({ length: count }, async () => {
      const lease = await budget.acquire({ session: 'parent', priority: 10 });
      try {
        const response = await fetch(`${sim.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'glm-4.6',
            stream: true,
            messages: [{ role: 'user', content: 'hello' }],
          }),
        });
        expect(response.status).toBe(200);
        await response.text();
      } finally {
        lease.release();
      }
    }),
  );
}

// Real threads and processes start slowly on a loaded 2-core machine; the budget's own timing
// assertions (recovery within 1 s, fast failure) stay strict.
describe('one budget across threads and processes', { timeout: 60_000 }, () => {
  it('parent + 3 worker threads at budget 3: peak in flight at the server <= 3, all complete', async () => {
    const registry = createBudgetRegistry();
    const server = createBudgetServer(registry);
    const workers = [0, 1, 2].map((n) =>
      spawnBudgetWorker(server, BUDGET_CLIENT, {
        workerData: streamPlan(4, 2),
        session: { id: `child-${n}`, priority: 0 },
      }),
    );
    cleanups.push(() => Promise.all(workers.map((w) => w.worker.terminate())));

    const reports = workers.map((w) => nextReport(w.worker, 'done'));
    await parentStreams(registry, 4);
    const done = await Promise.all(reports);

    for (const report of done) {
      expect(report.failures).toEqual([]);
      expect(report.completed).toBe(4);
    }
    expect(sim.stats().peakInFlight).toBe(3);
    expect(sim.stats().completed).toBe(16);
    expect(sim.stats().rejected).toBe(0);
    // Idle workers exit on their own: the budget channel does not keep them alive.
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
    expect(registry.get(KEY, { limit: 3 }).active).toBe(0);
  });

  it('parent + 3 child processes at budget 3: peak in flight at the server <= 3, all complete', async () => {
    const registry = createBudgetRegistry();
    const server = createBudgetServer(registry);
    const children = [0, 1, 2].map((n) =>
      spawnBudgetProcess(server, BUDGET_CLIENT, [JSON.stringify(streamPlan(4, 2))], {
        session: { id: `child-${n}`, priority: 0 },
      }),
    );
    cleanups.push(() => children.forEach((c) => c.child.kill('SIGKILL')));

    const reports = children.map((c) => nextReport(c.child, 'done'));
    await parentStreams(registry, 4);
    const done = await Promise.all(reports);

    for (const report of done) {
      expect(report.failures).toEqual([]);
      expect(report.completed).toBe(4);
    }
    expect(sim.stats().peakInFlight).toBe(3);
    expect(sim.stats().completed).toBe(16);
    const exits = await Promise.all(children.map((c) => c.exited));
    expect(exits.map((exit) => exit.code)).toEqual([0, 0, 0]);
  });

  it('kill -9 of a child holding 2 leases: both are back within 1 s and the waiters proceed', async () => {
    const registry = createBudgetRegistry();
    const server = createBudgetServer(registry);
    const budget = registry.get(KEY, { limit: 2 });
    const spawned = spawnBudgetProcess(server, BUDGET_CLIENT, [
      JSON.stringify({ action: 'hold', key: KEY, limit: 2, leases: 2 }),
    ]);
    cleanups.push(() => spawned.child.kill('SIGKILL'));
    await nextReport(spawned.child, 'holding');
    expect(budget.active).toBe(2);

    const waiters = [budget.acquire({ session: 'parent' }), budget.acquire({ session: 'parent' })];
    await until(() => budget.pending === 2);
    const killedAt = performance.now();
    spawned.child.kill('SIGKILL');
    const leases = await Promise.all(waiters);
    const recoveredMs = performance.now() - killedAt;

    expect(recoveredMs).toBeLessThan(1000);
    expect(budget.active).toBe(2);
    expect((await spawned.exited).signal).toBe('SIGKILL');
    const closed = await spawned.connection.closed;
    expect(closed.leasesFreed).toBe(2);
    expect(closed.reason).toMatch(/SIGKILL|disconnected/);
    for (const lease of leases) lease.release();
  });

  it('a terminated worker frees its leases at once', async () => {
    const registry = createBudgetRegistry();
    const server = createBudgetServer(registry);
    const budget = registry.get(KEY, { limit: 2 });
    const spawned = spawnBudgetWorker(server, BUDGET_CLIENT, {
      workerData: { action: 'hold', key: KEY, limit: 2, leases: 2 },
    });
    await nextReport(spawned.worker, 'holding');
    const waiter = budget.acquire();

    await spawned.worker.terminate();
    const lease = await waiter;
    expect((await spawned.connection.closed).leasesFreed).toBe(2);
    lease.release();
    expect(budget.active).toBe(0);
  });

  it('a parent that goes away fails the child waiting acquire fast with budget-unavailable', async () => {
    const registry = createBudgetRegistry();
    const server = createBudgetServer(registry);
    const spawned = spawnBudgetProcess(
      server,
      BUDGET_CLIENT,
      [JSON.stringify({ action: 'wait-for-unavailable', key: KEY, limit: 1 })],
      { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
    );
    cleanups.push(() => spawned.child.kill('SIGKILL'));
    let stdout = '';
    spawned.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    await nextReport(spawned.child, 'waiting');

    // The parent drops the child's IPC link, as when the parent exits; the child can then only
    // report on stdout.
    const droppedAt = Date.now();
    spawned.child.disconnect();
    // stdout's 'end', not 'exit', says the report has been read. ('close' never comes: the IPC
    // channel this side dropped is counted among the streams it waits for.)
    await Promise.all([
      spawned.exited,
      new Promise((resolve) => spawned.child.stdout?.once('end', resolve)),
    ]);
    const report = JSON.parse(stdout.trim()) as Report;

    expect(report.type).toBe('rejected');
    expect(report.kind).toBe('budget-unavailable');
    expect(String(report.message)).toMatch(
      /belongs to the parent process, and the parent process disconnected/,
    );
    expect(Number(report.at) - droppedAt).toBeLessThan(1000);
  });
});

describe('socket broker', { timeout: 60_000 }, () => {
  let broker: BudgetBroker;
  const registry = createBudgetRegistry();

  beforeEach(async () => {
    broker = await serveBudgetBroker(registry, { advertise: false });
  });
  afterEach(() => broker.close());

  it('creates the socket owner-only (0600) in an owner-only (0700) directory', async () => {
    const socket = await stat(broker.path);
    const dir = await stat(dirname(broker.path));

    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
    expect(dir.mode & 0o777).toBe(0o700);
    expect(broker.url).toBe(`unix:${broker.path}`);
    expect(broker.env).toEqual({ SLUICE_BUDGET: broker.url });
  });

  it('serves a process the parent did not spawn, found through SLUICE_BUDGET', async () => {
    const budget = registry.get(KEY, { limit: 3 });
    const child = spawn(process.execPath, [BUDGET_CLIENT, JSON.stringify(streamPlan(6, 6))], {
      env: { ...process.env, ...broker.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));

    // The parent holds one lease, so the outside process may only ever use the other two.
    const held = await budget.acquire();
    await until(() => broker.connections.size === 1);
    await new Promise((resolve) => child.once('close', resolve));
    held.release();

    const report = JSON.parse(stdout.trim()) as Report;
    expect(report).toMatchObject({ type: 'done', completed: 6, failures: [] });
    expect(sim.stats().peakInFlight).toBe(2);
    await until(() => broker.connections.size === 0);
    expect(budget.active).toBe(0);
  });

  it('fails fast with budget-unavailable once the broker is gone, for waiters and new acquires', async () => {
    const owner = registry.get('glm:gone', { limit: 1 });
    const attached = attachBudget({ url: broker.url });
    cleanups.push(() => attached.close());
    const remote = attached.get('glm:gone', { limit: 1 });
    await remote.acquire();
    const waiting = remote.acquire().catch((e: unknown) => e);
    await until(() => owner.pending === 1);

    const closedAt = performance.now();
    await broker.close();
    const error = (await waiting) as SluiceError;
    expect(performance.now() - closedAt).toBeLessThan(500);
    const later = (await remote.acquire().catch((e: unknown) => e)) as SluiceError;

    for (const failure of [error, later]) {
      expect(SluiceError.isInstance(failure)).toBe(true);
      expect(failure.kind).toBe('budget-unavailable');
      expect(failure.message).toContain(`the budget broker at ${broker.url}`);
      expect(failure.message).toMatch(/Restart the process that serves the broker/);
    }
    expect(owner.active).toBe(0);
  });

  it('fails fast when SLUICE_BUDGET names a socket nobody serves', async () => {
    const url = `${broker.url}.missing`;
    const attached = attachBudget({ env: { SLUICE_BUDGET: url } });
    cleanups.push(() => attached.close());

    const started = performance.now();
    const error = (await attached
      .get(KEY, { limit: 1 })
      .acquire()
      .catch((e: unknown) => e)) as SluiceError;
    expect(performance.now() - started).toBeLessThan(500);
    expect(error.kind).toBe('budget-unavailable');
    expect(error.message).toMatch(/ENOENT|ECONNREFUSED/);
  });

  it('refuses to serve a path a live broker already serves', async () => {
    await expect(serveBudgetBroker(registry, { path: broker.path })).rejects.toThrow(
      /already served/,
    );
  });
});

describe('attachBudget', () => {
  it('dispatches on registered schemes, so other backends plug in', async () => {
    const registry = createBudgetRegistry();
    const server = createBudgetServer(registry);
    const { port1, port2 } = new MessageChannel();
    server.accept(messagePortChannel<ClientFrame, ServerFrame>(port1));
    registerBudgetScheme('loopback-test', (url) =>
      attachedRegistry(
        url,
        createRemoteBudgetBackend(messagePortChannel<ServerFrame, ClientFrame>(port2), {
          name: 'loopback',
          owner: 'the test server',
        }),
      ),
    );

    const attached = attachBudget({ env: { SLUICE_BUDGET: 'loopback-test://anything' } });
    cleanups.push(() => attached.close());
    expect(attachBudget({ url: 'loopback-test://anything' })).toBe(attached);
    const lease = await attached.get(KEY, { limit: 2 }).acquire();

    expect(attached.get(KEY, { limit: 2 }).backend).toBe('loopback');
    expect(registry.get(KEY, { limit: 2 }).active).toBe(1);
    lease.release();
    await until(() => registry.get(KEY, { limit: 2 }).active === 0);
    expect(() => registerBudgetScheme('Not A Scheme', () => attached)).toThrow(/not a URL scheme/);
  });

  it('advertises a broker in SLUICE_BUDGET while it runs and restores the variable after', async () => {
    const before = process.env.SLUICE_BUDGET;
    const broker = await serveBudgetBroker(createBudgetRegistry());
    expect(process.env.SLUICE_BUDGET).toBe(broker.url);
    await broker.close();
    expect(process.env.SLUICE_BUDGET).toBe(before);
  });

  it('explains what to do when there is nothing to attach to', () => {
    expect(() => attachBudget({ env: {} })).toThrow(/SLUICE_BUDGET is not set/);
    expect(attachBudget({ env: {}, fallback: 'memory' }).url).toBe('memory:');
  });

  it('names the known schemes for an unknown one', () => {
    expect(() => attachBudget({ url: 'redis://127.0.0.1:6379' })).toThrow(
      /unknown scheme "redis".*worker:, ipc:, unix:/,
    );
  });

  it('rejects a handshakeTimeoutMs that is not a number of ms from 1 to 2147483647, naming it', () => {
    // Before any attaching: a memory fallback would otherwise accept anything.
    for (const bad of [-1, 0, 0.5, Number.NaN, Infinity, 2_147_483_648, '5000']) {
      let thrown: unknown;
      try {
        attachBudget({ env: {}, fallback: 'memory', handshakeTimeoutMs: bad as number });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, String(bad)).toBeInstanceOf(SluiceError);
      expect(thrown).toMatchObject({ kind: 'config' });
      expect((thrown as SluiceError).message).toContain(
        `attachBudget: handshakeTimeoutMs must be a number of ms from 1 to 2147483647, got ${typeof bad === 'string' ? `"${bad}"` : String(bad)}.`,
      );
      expect((thrown as SluiceError).hint).toContain('{ handshakeTimeoutMs: 5000 }');
    }
    expect(attachBudget({ env: {}, fallback: 'memory', handshakeTimeoutMs: 1 }).url).toBe(
      'memory:',
    );
  });

  it('rejects unknown options with a did-you-mean, and a bad fallback, url or env by name', () => {
    const bad = (options: unknown) => () =>
      attachBudget(options as Parameters<typeof attachBudget>[0]);
    expect(bad({ handshakeTimeout: 100 })).toThrow(
      'attachBudget: unknown option "handshakeTimeout"; did you mean "handshakeTimeoutMs"?',
    );
    expect(bad({ fallbak: 'memory' })).toThrow('did you mean "fallback"?');
    expect(bad({ zzz: 1 })).toThrow(
      'unknown option "zzz". Its options are url, env, fallback, handshakeTimeoutMs.',
    );
    expect(bad({ env: {}, fallback: 'mem' })).toThrow(
      "attachBudget: fallback must be 'error' or 'memory', got \"mem\".",
    );
    expect(bad({ url: 42 })).toThrow('attachBudget: url must be a string');
    expect(bad({ env: 'SLUICE_BUDGET=ipc:' })).toThrow('attachBudget: env must be an object');
    expect(bad(null)).toThrow('attachBudget: options must be an object, got null.');
  });

  it('createRemoteBudgetBackend rejects a bad handshakeTimeoutMs too', () => {
    const { port1 } = new MessageChannel();
    cleanups.push(() => port1.close());
    expect(() =>
      createRemoteBudgetBackend(messagePortChannel<ServerFrame, ClientFrame>(port1), {
        name: 'ipc',
        owner: 'the test',
        handshakeTimeoutMs: -1,
      }),
    ).toThrow(
      'createRemoteBudgetBackend: handshakeTimeoutMs must be a number of ms from 1 to 2147483647, got -1.',
    );
  });

  it('refuses worker: on the main thread and ipc: without an IPC channel', () => {
    expect(() => attachBudget({ url: 'worker:' })).toThrow(/main thread/);
    if (typeof process.send !== 'function') {
      expect(() => attachBudget({ url: 'ipc:' })).toThrow(/not forked/);
    }
  });
});
