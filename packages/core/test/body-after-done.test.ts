// What is left of a body after `data: [DONE]`: the answer and the lease end at [DONE]; a body
// that then ends is read to its end in the background so its socket stays in the keep-alive
// pool, and a body that stays open is cut about a second later, closing its socket.
import { afterEach, describe, expect, it } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { createRouter } from '../src/router/create-router.js';
import type { Router } from '../src/router/types.js';
import { loopbackConfig, readJson } from './support/loopback-chat.js';
import { startLoopbackServer, type LoopbackServer } from './support/loopback-server.js';
import { DONE, finishFrame, roleFrame, textFrame } from './support/sse.js';

let server: LoopbackServer | undefined;
let router: Router | undefined;
afterEach(async () => {
  await router?.close();
  await server?.close();
});

const answer = roleFrame() + textFrame('Hi') + finishFrame() + DONE;
const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };

describe('the body after [DONE]', () => {
  it('keeps the socket of a body that ends right after [DONE] for the next request', async () => {
    server = await startLoopbackServer(async (request, response) => {
      await readJson(request);
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(answer);
      setTimeout(() => response.end('\n'), 20);
    });
    router = createRouter({ config: loopbackConfig(server.url), budgets: createBudgetRegistry() });
    for (let index = 0; index < 3; index++) {
      expect(await router.chat(hi).text()).toBe('Hi');
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    expect(server.requests).toBe(3);
    expect(server.connections).toBe(1);
  });

  it('frees the lease at [DONE] and cuts a body still open a second later', async () => {
    const closedAfterMs: number[] = [];
    server = await startLoopbackServer(async (request, response) => {
      await readJson(request);
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(answer);
      const sentAt = performance.now();
      response.on('close', () => closedAfterMs.push(performance.now() - sentAt));
    });
    router = createRouter({ config: loopbackConfig(server.url), budgets: createBudgetRegistry() });
    const startedAt = performance.now();
    expect(await router.chat(hi).text()).toBe('Hi');
    expect(performance.now() - startedAt).toBeLessThan(500);
    expect(router.budgets.get(router.route().budgetKey, { limit: 1 }).active).toBe(0);

    await expect.poll(() => closedAfterMs.length, { timeout: 3_000 }).toBe(1);
    expect(closedAfterMs[0]).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs[0]).toBeLessThan(2_000);
  });
});
