// C10: server-chosen waits, on fake timers, through router.chat with an injected fetch.
// The rule (see computeRetryDelay): a server wait is honoured up to retry.maxServerWaitMs and
// clamped to it above; an absent or unparsable value falls back to backoff with full jitter.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { createRouter } from '../src/router/create-router.js';
import type { SluiceEvent } from '../src/router/router-events.js';
import { mockConfig } from './support/msw-chat.js';
import { sseAnswer } from './support/sse.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A fetch that answers 429 with `headers` once, then a normal stream; records call times. */
function rateLimitedOnce(headers: Record<string, string>) {
  const calls: number[] = [];
  const fetch = (async () => {
    calls.push(Date.now());
    if (calls.length === 1) {
      return new Response(JSON.stringify({ error: { message: 'slow down', code: 'rate' } }), {
        status: 429,
        headers: { 'content-type': 'application/json', ...headers },
      });
    }
    return new Response(sseAnswer('ok'), { headers: { 'content-type': 'text/event-stream' } });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

function routerWith(fetch: typeof globalThis.fetch) {
  const router = createRouter({
    config: mockConfig({
      retry: { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 8_000, maxServerWaitMs: 60_000 },
    }),
    budgets: createBudgetRegistry(),
    fetch,
  });
  const events: SluiceEvent[] = [];
  router.subscribe((event) => events.push(event));
  return { router, events };
}

async function waitBetweenAttempts(headers: Record<string, string>) {
  const { fetch, calls } = rateLimitedOnce(headers);
  const { router, events } = routerWith(fetch);
  const text = router.chat({ messages: [{ role: 'user', content: 'hi' }] }).text();
  await vi.advanceTimersByTimeAsync(61_000);
  expect(await text).toBe('ok');
  expect(calls).toHaveLength(2);
  const retry = events.find((event) => event.type === 'retry');
  return { waitedMs: calls[1]! - calls[0]!, retry, events, router };
}

describe('C10: server-chosen waits', () => {
  it('C10: retry-after-ms: 1500 waits 1.5 s', async () => {
    const { waitedMs, retry } = await waitBetweenAttempts({ 'retry-after-ms': '1500' });
    expect(waitedMs).toBe(1_500);
    expect(retry).toMatchObject({ kind: 'rate-limit', delayMs: 1_500, status: 429 });
  });

  it('C10: Retry-After: 3 waits 3 s', async () => {
    expect((await waitBetweenAttempts({ 'retry-after': '3' })).waitedMs).toBe(3_000);
  });

  it('C10: an HTTP-date 5 s ahead waits about 5 s', async () => {
    const date = new Date(NOW + 5_000).toUTCString();
    const { waitedMs } = await waitBetweenAttempts({ 'retry-after': date });
    expect(waitedMs).toBeGreaterThanOrEqual(4_000);
    expect(waitedMs).toBeLessThanOrEqual(5_000);
  });

  it('C10: an HTTP-date in the past waits 0 s', async () => {
    const date = new Date(NOW - 30_000).toUTCString();
    expect((await waitBetweenAttempts({ 'retry-after': date })).waitedMs).toBe(0);
  });

  it('C10: Retry-After: 3600 is clamped to retry.maxServerWaitMs (60 s)', async () => {
    const { waitedMs, retry } = await waitBetweenAttempts({ 'retry-after': '3600' });
    expect(waitedMs).toBe(60_000);
    expect(retry).toMatchObject({ delayMs: 60_000 });
  });

  it('C10: an unparsable Retry-After falls back to backoff with full jitter (below baseDelayMs on attempt 1)', async () => {
    const { waitedMs, retry } = await waitBetweenAttempts({ 'retry-after': 'tomorrow-ish' });
    expect(waitedMs).toBeGreaterThanOrEqual(0);
    expect(waitedMs).toBeLessThan(1_000);
    expect(retry).toMatchObject({ delayMs: waitedMs });
  });

  it('C10: the rate limit sets one cooldown on the route budget for the wait', async () => {
    const { events, router } = await waitBetweenAttempts({ 'retry-after': '3' });
    const cooldown = events.find((event) => event.type === 'cooldown');
    expect(cooldown).toMatchObject({ untilMs: NOW + 3_000, budgetKey: router.route().budgetKey });
  });

  it('C10: an abort during the wait rejects at once and holds no lease', async () => {
    const { fetch, calls } = rateLimitedOnce({ 'retry-after': '30' });
    const { router } = routerWith(fetch);
    const controller = new AbortController();
    const settled = router
      .chat({ messages: [{ role: 'user', content: 'hi' }] }, { signal: controller.signal })
      .text()
      .then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error, atMs: Date.now() }),
      );

    await vi.advanceTimersByTimeAsync(2_000);
    const budget = router.budgets.get(router.route().budgetKey, { limit: 1 });
    expect(budget.active).toBe(0);
    controller.abort(new Error('user gave up'));
    const outcome = await settled;

    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error).toMatchObject({ kind: 'aborted' });
      expect(outcome.atMs).toBe(NOW + 2_000);
    }
    expect(calls).toHaveLength(1);
    expect(budget.active).toBe(0);
    expect(budget.pending).toBe(0);
    // Past the 30 s wait: no retry was sent, and every timer left (the cooldown, the shared
    // deadline timer) expired without re-arming.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
