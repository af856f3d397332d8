// C12: phase deadlines on real loopback sockets. Each fires a typed timeout naming its phase,
// closes the socket and frees the lease.
import { afterEach, describe, expect, it } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { SluiceError } from '../src/errors/sluice-error.js';
import type { ChatEvent } from '../src/events/chat-events.js';
import { createRouter } from '../src/router/create-router.js';
import type { Router } from '../src/router/types.js';
import { readJson, loopbackConfig } from './support/loopback-chat.js';
import { startLoopbackServer, type LoopbackServer } from './support/loopback-server.js';
import { roleFrame, textFrame } from './support/sse.js';

let server: LoopbackServer | undefined;
let router: Router | undefined;
afterEach(async () => {
  await router?.close();
  await server?.close();
});

type Behaviour = 'dribble' | 'silence' | 'no-headers';

async function run(behaviour: Behaviour, timeouts: Record<string, number>) {
  const closedEarly: number[] = [];
  server = await startLoopbackServer(async (request, response) => {
    await readJson(request);
    response.on('close', () => {
      if (!response.writableFinished) closedEarly.push(performance.now());
    });
    if (behaviour === 'no-headers') return;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(roleFrame() + textFrame('first'));
    if (behaviour === 'silence') return;
    const timer = setInterval(() => response.write(textFrame('.')), 400);
    response.on('close', () => clearInterval(timer));
  });
  router = createRouter({
    config: loopbackConfig(server.url, { timeouts, retry: { maxAttempts: 1 } }),
    budgets: createBudgetRegistry(),
  });

  const startedAt = performance.now();
  const events: Array<{ event: ChatEvent; atMs: number }> = [];
  let failure: unknown;
  try {
    for await (const event of router.chat({ messages: [{ role: 'user', content: 'go' }] })) {
      events.push({ event, atMs: performance.now() - startedAt });
    }
  } catch (error) {
    failure = error;
  }
  const failedAtMs = performance.now() - startedAt;
  const budget = router.budgets.get(router.route().budgetKey, { limit: 1 });
  await expect.poll(() => closedEarly.length).toBe(1);
  return { events, failure: failure as SluiceError, failedAtMs, budget };
}

describe('C12: dribble and silence', () => {
  it('C12: a delta every 400 ms with idle 1 s and total 3 s fails on the total deadline at about 3 s', async () => {
    const { events, failure, failedAtMs, budget } = await run('dribble', {
      idleMs: 1_000,
      totalMs: 3_000,
    });
    expect(SluiceError.isInstance(failure)).toBe(true);
    // Output had reached the consumer, so the timeout arrives as a mid-stream error that keeps
    // the deadline's phase and has the timeout as its cause.
    expect(failure).toMatchObject({ kind: 'mid-stream', phase: 'total' });
    expect(failure.cause).toMatchObject({ kind: 'timeout', phase: 'total' });
    expect(failure.message).toContain('total deadline');
    expect(failedAtMs).toBeGreaterThanOrEqual(2_900);
    expect(failedAtMs).toBeLessThan(4_000);
    expect(events.filter(({ event }) => event.type === 'text-delta').length).toBeGreaterThan(5);
    expect(budget.active).toBe(0);
  });

  it('C12: one delta then silence fails on the idle deadline about 1 s after the delta', async () => {
    const { events, failure, failedAtMs, budget } = await run('silence', {
      idleMs: 1_000,
      totalMs: 3_000,
    });
    const delta = events.find(({ event }) => event.type === 'text-delta');
    expect(delta).toBeDefined();
    expect(failure).toMatchObject({ kind: 'mid-stream', phase: 'stream' });
    expect(failure.cause).toMatchObject({ kind: 'timeout', phase: 'stream' });
    const afterDeltaMs = failedAtMs - delta!.atMs;
    expect(afterDeltaMs).toBeGreaterThanOrEqual(900);
    expect(afterDeltaMs).toBeLessThan(1_800);
    expect(budget.active).toBe(0);
  });

  it('C12: a server that never sends headers fails on the headers deadline, counted from send', async () => {
    const { events, failure, failedAtMs, budget } = await run('no-headers', { headersMs: 600 });
    expect(events).toHaveLength(0);
    expect(failure).toMatchObject({ kind: 'timeout', phase: 'headers', retryable: true });
    expect(failedAtMs).toBeGreaterThanOrEqual(550);
    expect(failedAtMs).toBeLessThan(1_500);
    expect(budget.active).toBe(0);
  });
});
