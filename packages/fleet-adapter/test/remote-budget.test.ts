import { MessageChannel } from 'node:worker_threads';

import { createBudgetRegistry, SluiceError } from '@sluice/core';
import { afterEach, describe, expect, it } from 'vitest';

import {
  createBudgetServer,
  createRemoteBudgetBackend,
  messagePortChannel,
  type ClientFrame,
  type ServerFrame,
} from '../src/index.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An owner registry and a remote backend wired through a real MessageChannel. */
function pair(options: { handshakeTimeoutMs?: number } = {}) {
  const registry = createBudgetRegistry();
  const server = createBudgetServer(registry);
  const { port1, port2 } = new MessageChannel();
  const connection = server.accept(messagePortChannel<ClientFrame, ServerFrame>(port1), {
    label: 'test peer',
  });
  const backend = createRemoteBudgetBackend(messagePortChannel<ServerFrame, ClientFrame>(port2), {
    name: 'ipc',
    owner: 'the test owner',
    ...options,
  });
  cleanups.push(async () => {
    await backend.close();
    port1.close();
  });
  return { registry, server, connection, backend };
}

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await tick(5);
  }
}

describe('remote budget over a message channel', () => {
  it('counts remote leases in the owner budget and never grants past the limit', async () => {
    const { registry, backend } = pair();
    const remote = backend.open('glm', { limit: 2 });
    const owner = registry.get('glm', { limit: 2 });

    const first = await remote.acquire();
    const second = await remote.acquire();
    let thirdGranted = false;
    const third = remote.acquire().then((lease) => {
      thirdGranted = true;
      return lease;
    });
    await until(() => owner.pending === 1);

    expect(owner.active).toBe(2);
    expect(thirdGranted).toBe(false);
    expect(remote.backend).toBe('ipc');

    first.release();
    first.release();
    const lease = await third;
    expect(owner.active).toBe(2);
    second.release();
    lease.release();
    await until(() => owner.active === 0);
    await until(() => remote.active === 0 && remote.pending === 0);
    expect(remote.limit).toBe(2);
  });

  it('shares one owner budget between a local caller and a remote one', async () => {
    const { registry, backend } = pair();
    const owner = registry.get('glm', { limit: 1 });
    const remote = backend.open('glm', { limit: 1 });

    const local = await owner.acquire({ session: 'parent' });
    let remoteGranted = false;
    const waiting = remote.acquire().then((lease) => {
      remoteGranted = true;
      return lease;
    });
    await until(() => owner.pending === 1);
    expect(remoteGranted).toBe(false);

    local.release();
    (await waiting).release();
    await until(() => owner.active === 0);
  });

  it('calls onQueued for an acquire that waits at the owner, not for one granted at once', async () => {
    const { backend } = pair();
    const remote = backend.open('glm', { limit: 1 });
    let fastQueued = 0;
    const held = await remote.acquire({ onQueued: () => fastQueued++ });
    let slowQueued = 0;
    const waiting = remote.acquire({ onQueued: () => slowQueued++ });
    await until(() => slowQueued === 1);

    expect(fastQueued).toBe(0);
    held.release();
    (await waiting).release();
    expect(slowQueued).toBe(1);
  });

  it('withdraws an aborted waiter from the owner queue, and it never holds a lease', async () => {
    const { registry, backend } = pair();
    const owner = registry.get('glm', { limit: 1 });
    const remote = backend.open('glm', { limit: 1 });
    const held = await remote.acquire();
    const controller = new AbortController();
    const waiting = remote.acquire({ signal: controller.signal });
    await until(() => owner.pending === 1);

    const reason = new Error('user pressed ctrl-c');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await until(() => owner.pending === 0);

    held.release();
    await until(() => owner.active === 0);
    expect(owner.active).toBe(0);
  });

  it('rejects a waiter past timeoutMs with the owner queue-timeout error', async () => {
    const { backend } = pair();
    const remote = backend.open('glm', { limit: 1 });
    const held = await remote.acquire();

    const error: unknown = await remote.acquire({ timeoutMs: 50 }).catch((e: unknown) => e);
    expect(SluiceError.isInstance(error)).toBe(true);
    expect((error as SluiceError).kind).toBe('queue-timeout');
    held.release();
  });

  it('forwards resize and cooldown to the owner and reports them back', async () => {
    const { registry, backend } = pair();
    const remote = backend.open('glm', { limit: 3 });
    const owner = registry.get('glm', { limit: 3 });
    const resized: number[] = [];
    remote.on('resized', (event) => resized.push(event.limit));

    remote.resize(1);
    await until(() => owner.limit === 1 && remote.limit === 1);
    const until5s = Date.now() + 5000;
    remote.cooldown(until5s, 'rate limited in a child');
    await until(() => owner.cooldownUntil === until5s);

    expect(resized).toEqual([1]);
    expect(remote.cooldownUntil).toBe(until5s);
    expect(() => remote.resize(-1)).toThrow(/integer >= 0/);
  });

  it('refuses a cooldown that never ends, as the owner budget does, and forwards nothing', async () => {
    const { registry, backend } = pair();
    const remote = backend.open('glm', { limit: 1 });
    const owner = registry.get('glm', { limit: 1 });

    expect(() => remote.cooldown(Number.POSITIVE_INFINITY, 'x')).toThrow(
      'Budget "glm": cooldown needs a finite epoch time in ms, got Infinity.',
    );
    expect(remote.cooldownUntil).toBe(0);
    const lease = await remote.acquire();
    expect(owner.cooldownUntil).toBe(0);
    lease.release();
  });

  it('frees the leases and waiters of a peer that disconnects', async () => {
    const { registry, backend, connection } = pair();
    const owner = registry.get('glm', { limit: 2 });
    const remote = backend.open('glm', { limit: 2 });
    await remote.acquire();
    await remote.acquire();
    void remote.acquire().catch(() => undefined);
    await until(() => owner.pending === 1);

    await backend.close();
    const closed = await connection.closed;

    expect(closed.leasesFreed).toBe(2);
    expect(closed.waitersCancelled).toBe(1);
    expect(owner.active).toBe(0);
    expect(owner.pending).toBe(0);
  });

  it('fails waiting and later acquires fast with budget-unavailable when the owner goes away', async () => {
    const { backend, connection } = pair();
    const remote = backend.open('glm', { limit: 1 });
    const held = await remote.acquire();
    const waiting = remote.acquire();
    await until(() => remote.pending === 1);

    expect(remote.health).toEqual({ state: 'ok' });
    const started = performance.now();
    connection.close('the owner shut down for the test');
    const error: unknown = await waiting.catch((e: unknown) => e);
    const later: unknown = await remote.acquire().catch((e: unknown) => e);

    expect(performance.now() - started).toBeLessThan(500);
    for (const failure of [error, later]) {
      expect(SluiceError.isInstance(failure)).toBe(true);
      expect((failure as SluiceError).kind).toBe('budget-unavailable');
      expect((failure as SluiceError).message).toMatch(/belongs to the test owner/);
    }
    expect(held.released).toBe(true);
    expect(remote.health).toEqual({
      state: 'down',
      detail: 'the test owner: the other thread closed the budget message port',
    });
    held.release();
  });

  it('fails with budget-unavailable when nobody answers the handshake', async () => {
    const { port2 } = new MessageChannel();
    const backend = createRemoteBudgetBackend(messagePortChannel<ServerFrame, ClientFrame>(port2), {
      name: 'ipc',
      owner: 'the parent process',
      handshakeTimeoutMs: 100,
    });
    cleanups.push(() => backend.close());
    const remote = backend.open('glm', { limit: 1 });

    const error: unknown = await remote.acquire().catch((e: unknown) => e);
    expect((error as SluiceError).kind).toBe('budget-unavailable');
    expect((error as SluiceError).message).toMatch(/did not answer the handshake within 100 ms/);
    await expect(backend.ready()).rejects.toThrow(/did not answer/);
  });

  it('cuts off a peer that sends a frame the owner cannot apply, without throwing', async () => {
    const registry = createBudgetRegistry();
    const server = createBudgetServer(registry);
    const { port1, port2 } = new MessageChannel();
    const connection = server.accept(messagePortChannel<ClientFrame, ServerFrame>(port1));
    port2.postMessage([['acquire', 'glm', -4, null, null, null, 1]]);

    const closed = await connection.closed;
    expect(closed.reason).toMatch(/could not apply/);
    port2.close();
  });
});

describe('a connection bound to a session', () => {
  it("serves the session's share: share 2 gets two grants per round where share 1 gets one", async () => {
    const registry = createBudgetRegistry();
    const server = createBudgetServer(registry);
    const peer = (id: string, share: number) => {
      const { port1, port2 } = new MessageChannel();
      server.accept(messagePortChannel<ClientFrame, ServerFrame>(port1), {
        label: id,
        session: { id, priority: 0, share },
      });
      const backend = createRemoteBudgetBackend(
        messagePortChannel<ServerFrame, ClientFrame>(port2),
        { name: 'ipc', owner: 'the test owner' },
      );
      cleanups.push(async () => {
        await backend.close();
        port1.close();
      });
      return backend.open('glm', { limit: 1 });
    };
    const heavy = peer('heavy', 2);
    const light = peer('light', 1);
    const owner = registry.get('glm', { limit: 1 });

    // A holder keeps the one lease until both peers have queued their work.
    const holder = await owner.acquire();
    const grants: string[] = [];
    const work = (budget: typeof heavy, name: string, count: number) =>
      Array.from({ length: count }, () =>
        budget.acquire().then((lease) => {
          grants.push(name);
          // Each grant is handed back at once, so the next waiter is chosen by the round-robin.
          setTimeout(() => lease.release(), 5);
        }),
      );
    const all = [...work(heavy, 'heavy', 4), ...work(light, 'light', 2)];
    await until(() => owner.pending === 6);
    holder.release();
    await Promise.all(all);

    expect(grants).toEqual(['heavy', 'heavy', 'light', 'heavy', 'heavy', 'light']);
  });
});

describe('remote budget listeners', () => {
  it('a listener that throws neither fails the grant nor stops the other listeners', async () => {
    const { backend } = pair();
    const remote = backend.open('glm', { limit: 1 });
    const reported: unknown[] = [];
    const original = globalThis.queueMicrotask;
    // BudgetEvents reports a listener's error on a microtask, as EventTarget does; catch it here.
    globalThis.queueMicrotask = (task) =>
      original(() => {
        try {
          task();
        } catch (error) {
          reported.push(error);
        }
      });
    const seen: string[] = [];
    try {
      remote.on('acquired', () => {
        throw new Error('listener bug');
      });
      remote.on('acquired', (event) => seen.push(event.key));
      const lease = await remote.acquire();
      await tick(5);
      expect(seen).toEqual(['glm']);
      expect(remote.active).toBe(1);
      lease.release();
    } finally {
      globalThis.queueMicrotask = original;
    }
    expect(reported).toHaveLength(1);
    expect((reported[0] as Error).message).toBe('listener bug');
    expect(() => remote.on('nope' as never, () => {})).toThrow(/has no event "nope"/);
  });
});
