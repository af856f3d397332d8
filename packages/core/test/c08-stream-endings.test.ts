// C08: every way a stream can end releases its lease exactly once, cancels the body, and lets the
// next request start at once. Real loopback sockets, limit 1.
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { SluiceError } from '../src/errors/sluice-error.js';
import { createRouter } from '../src/router/create-router.js';
import type { SluiceEvent } from '../src/router/router-events.js';
import type { Router } from '../src/router/types.js';
import { startLoopbackServer, type LoopbackServer } from './support/loopback-server.js';
import { loopbackConfig, readJson } from './support/loopback-chat.js';
import { roleFrame, sseAnswer, textFrame } from './support/sse.js';

type Ending = 'break' | 'abort' | 'cancel' | 'reset' | 'http-400';

let server: LoopbackServer | undefined;
let router: Router | undefined;
afterEach(async () => {
  await router?.close();
  await server?.close();
});

/** A serves one delta then dribbles (or resets, or answers 400); B answers at once. */
async function startServer(ending: Ending) {
  const closedEarly: string[] = [];
  server = await startLoopbackServer(async (request, response) => {
    const body = await readJson(request);
    const who = String((body.messages as Array<{ content: string }>)[0]?.content);
    response.on('close', () => {
      if (!response.writableFinished) closedEarly.push(who);
    });
    if (who === 'B') {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(sseAnswer('b-done'));
      return;
    }
    if (ending === 'http-400') {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: 'bad field', code: 'invalid_request' } }));
      return;
    }
    streamForever(response, ending === 'reset');
  });
  return { closedEarly };
}

function streamForever(response: ServerResponse, reset: boolean) {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  response.write(roleFrame() + textFrame('one'));
  if (reset) {
    setTimeout(() => response.socket?.destroy(), 50);
    return;
  }
  const timer = setInterval(() => response.write(': keep-alive\n\n'), 100);
  response.on('close', () => clearInterval(timer));
}

describe('C08: every way a stream can end', () => {
  it.each<Ending>(['break', 'abort', 'cancel', 'reset', 'http-400'])(
    'C08: A at limit 1 ends by %s: lease released once, body cancelled, B starts at once',
    async (ending) => {
      const { closedEarly } = await startServer(ending);
      router = createRouter({
        config: loopbackConfig(server!.url, { maxConcurrency: 1, retry: { maxAttempts: 3 } }),
        budgets: createBudgetRegistry(),
      });
      const events: SluiceEvent[] = [];
      router.subscribe((event) => events.push(event));
      const budget =
        router.budgets.list()[0] ?? router.budgets.get(router.route().budgetKey, { limit: 1 });

      const controller = new AbortController();
      const streamA = router.chat(
        { messages: [{ role: 'user', content: 'A' }] },
        { signal: controller.signal },
      );
      const iteratorA = streamA[Symbol.asyncIterator]();

      let failureA: unknown;
      let endedAt = 0;
      let bText: Promise<string> | undefined;
      try {
        for (;;) {
          const step = await iteratorA.next();
          if (step.done) break;
          // Once A holds the lease and streams, B is queued behind it.
          bText ??= router.chat({ messages: [{ role: 'user', content: 'B' }] }).text();
          if (step.value.type !== 'text-delta') continue;
          expect(step.value.text).toBe('one');
          if (ending === 'break') {
            await iteratorA.return?.();
            break;
          }
          if (ending === 'abort') controller.abort(new Error('user stop'));
          if (ending === 'cancel') streamA.cancel();
        }
      } catch (error) {
        failureA = error;
      }
      endedAt = Date.now();
      if (ending === 'http-400') {
        bText = router.chat({ messages: [{ role: 'user', content: 'B' }] }).text();
      }

      expect(await bText).toBe('b-done');
      const bStarted = events.find(
        (event) => event.type === 'lease-acquired' && event.requestId !== events[0]!.requestId,
      );
      expect(bStarted).toBeDefined();
      // B got its lease within moments of A's end (generous margin for a loaded 2-core box).
      expect(bStarted!.time - endedAt).toBeLessThan(250);
      if (ending !== 'http-400') {
        expect(
          events.some(
            (event) => event.type === 'queued' && event.requestId === bStarted!.requestId,
          ),
        ).toBe(true);
      }

      const requestA = events[0]!.requestId;
      const releasesA = events.filter(
        (event) => event.type === 'lease-released' && event.requestId === requestA,
      );
      expect(releasesA).toHaveLength(1);
      expect(budget.active).toBe(0);
      expect(budget.pending).toBe(0);

      if (ending === 'break') expect(failureA).toBeUndefined();
      if (ending === 'abort' || ending === 'cancel') {
        expect(failureA).toMatchObject({ kind: 'aborted' });
      }
      if (ending === 'reset') {
        expect(failureA).toMatchObject({ kind: 'mid-stream', retryable: false });
        expect(((failureA as SluiceError).cause as SluiceError).kind).toBe('network');
      }
      if (ending === 'http-400') {
        expect(SluiceError.isInstance(failureA)).toBe(true);
        expect(failureA).toMatchObject({ kind: 'bad-request', status: 400 });
      }
      // No retry for any of them: A was sent once.
      const startsA = events.filter(
        (event) => event.type === 'lease-acquired' && event.requestId === requestA,
      );
      expect(startsA).toHaveLength(1);
      if (ending !== 'http-400') await expect.poll(() => closedEarly).toEqual(['A']);
      expect(
        events.find((event) => event.type === 'request-end' && event.requestId === requestA),
      ).toMatchObject({
        outcome: ending === 'reset' || ending === 'http-400' ? 'failure' : 'cancelled',
      });
    },
  );
});
