// C11: a failure after output reached the consumer is never retried (typed mid-stream error);
// a failure before any content is retried invisibly. Real loopback sockets.
import { afterEach, describe, expect, it } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { SluiceError } from '../src/errors/sluice-error.js';
import type { ChatEvent } from '../src/events/chat-events.js';
import { createRouter } from '../src/router/create-router.js';
import type { SluiceEvent } from '../src/router/router-events.js';
import type { Router } from '../src/router/types.js';
import { loopbackConfig, readJson } from './support/loopback-chat.js';
import { startLoopbackServer, type LoopbackServer } from './support/loopback-server.js';
import { roleFrame, sseAnswer, textFrame } from './support/sse.js';

let server: LoopbackServer | undefined;
let router: Router | undefined;
afterEach(async () => {
  await router?.close();
  await server?.close();
});

async function collect(options: { firstAttempt: string }) {
  server = await startLoopbackServer(async (request, response, index) => {
    await readJson(request);
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    if (index > 0) {
      response.end(sseAnswer('Hel', 'lo'));
      return;
    }
    // Attempt 1 writes its frames, then the connection resets.
    response.write(options.firstAttempt, () => setTimeout(() => response.socket?.destroy(), 30));
  });
  router = createRouter({
    config: loopbackConfig(server.url, { retry: { maxAttempts: 3, baseDelayMs: 10 } }),
    budgets: createBudgetRegistry(),
  });
  const telemetry: SluiceEvent[] = [];
  router.subscribe((event) => telemetry.push(event));

  const events: ChatEvent[] = [];
  let failure: unknown;
  try {
    for await (const event of router.chat({ messages: [{ role: 'user', content: 'hi' }] })) {
      events.push(event);
    }
  } catch (error) {
    failure = error;
  }
  const text = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : []));
  return { events, text: text.join(''), failure, telemetry };
}

describe('C11: no retry after output', () => {
  it('C11: Hel and lo then a reset: one request, the consumer sees Hello then a typed mid-stream error', async () => {
    const { text, failure, telemetry } = await collect({
      firstAttempt: roleFrame() + textFrame('Hel') + textFrame('lo'),
    });
    expect(text).toBe('Hello');
    expect(SluiceError.isInstance(failure)).toBe(true);
    expect(failure).toMatchObject({
      kind: 'mid-stream',
      retryable: false,
      code: 'SLUICE_MID_STREAM',
    });
    expect((failure as SluiceError).cause).toMatchObject({ kind: 'network' });
    expect((failure as Error).message).toContain('(network)');
    expect(server!.requests).toBe(1);
    expect(telemetry.filter((event) => event.type === 'retry')).toHaveLength(0);
  });

  it('C11: a reset after the headers but before any content (role chunk only) is retried invisibly', async () => {
    const { events, text, failure, telemetry } = await collect({ firstAttempt: roleFrame() });
    expect(failure).toBeUndefined();
    expect(text).toBe('Hello');
    const starts = events.filter((event) => event.type === 'start');
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({ attempt: 2 });
    expect(events.filter((event) => event.type === 'finish')).toHaveLength(1);
    expect(server!.requests).toBe(2);
    expect(telemetry.filter((event) => event.type === 'retry')).toMatchObject([
      { kind: 'network', attempt: 1 },
    ]);
    expect(telemetry.find((event) => event.type === 'request-end')).toMatchObject({
      outcome: 'success',
      attempts: 2,
    });
  });
});
