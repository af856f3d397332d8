import { connect } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { Simulator } from '../src/index.js';
import { startSimulator } from '../src/index.js';
import { assemble, chatBody, postChat, settlesWithin, ssePayloads, waitUntil } from './helpers.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** Opens `count` streams and waits until the server serves all of them. */
async function openStreams(target: Simulator, count: number): Promise<Response[]> {
  const responses = await Promise.all(
    Array.from({ length: count }, () => postChat(target.baseURL)),
  );
  await waitUntil(() => target.stats().streaming === count);
  return responses;
}

describe('past the ceiling in stall mode', () => {
  it('holds the headers of the request past the ceiling, then answers 429 with code 1302', async () => {
    // Long generated streams keep the three slots busy for the whole test.
    sim = await startSimulator({
      ceiling: 3,
      mode: 'stall',
      stallMs: 800,
      source: 'generate',
      outputTokens: 400,
      tokensPerSecond: 100,
    });
    const served = await openStreams(sim, 3);

    const startedAt = performance.now();
    const fourth = postChat(sim.baseURL);
    expect(await settlesWithin(fourth, 400)).toBe('timeout');
    expect(sim.stats()).toMatchObject({ inFlight: 4, streaming: 3, stalling: 1, stalled: 1 });

    const response = await fourth;
    const elapsedMs = performance.now() - startedAt;
    expect(response.status).toBe(429);
    const body = await response.json();
    expect(body.error.code).toBe('1302');
    expect(body.error.message).toMatch(/[\u4e00-\u9fff]/);
    expect(elapsedMs).toBeGreaterThanOrEqual(790);
    expect(served.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(sim.stats()).toMatchObject({ peakInFlight: 4, peakStreaming: 3, rejected: 1 });
  });

  it('never serves a stalled request when a slot frees during the stall', async () => {
    // Short streams end well before the stall does.
    sim = await startSimulator({
      ceiling: 1,
      stallMs: 1_500,
      source: 'generate',
      outputTokens: 10,
      tokensPerSecond: 100,
    });
    const first = await postChat(sim.baseURL);
    await waitUntil(() => sim!.stats().streaming === 1);
    const second = postChat(sim.baseURL);
    await waitUntil(() => sim!.stats().stalling === 1);

    await first.text();
    await waitUntil(() => sim!.stats().streaming === 0);
    expect(await settlesWithin(second, 200)).toBe('timeout');

    const response = await second;
    expect(response.status).toBe(429);
    expect(sim.stats()).toMatchObject({ completed: 1, stalled: 1, rejected: 1, peakStreaming: 1 });
  });

  it("resets the socket at the end of the stall with stallEnd: 'reset'", async () => {
    sim = await startSimulator({
      ceiling: 1,
      stallMs: 300,
      stallEnd: 'reset',
      source: 'generate',
      outputTokens: 200,
      tokensPerSecond: 100,
    });
    await openStreams(sim, 1);

    const error = await postChat(sim.baseURL).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(String((error as TypeError & { cause?: unknown }).cause)).toMatch(/ECONNRESET|socket/i);
    expect(sim.stats()).toMatchObject({ stalled: 1, resets: 1, rejected: 0 });
  });

  it('frees the stalled request when its client aborts', async () => {
    sim = await startSimulator({
      ceiling: 1,
      stallMs: 60_000,
      source: 'generate',
      outputTokens: 200,
      tokensPerSecond: 100,
    });
    await openStreams(sim, 1);
    const controller = new AbortController();
    const stalled = postChat(sim.baseURL, chatBody(), { signal: controller.signal });
    await waitUntil(() => sim!.stats().stalling === 1);

    controller.abort();
    await expect(stalled).rejects.toThrow();
    await waitUntil(() => sim!.stats().inFlight === 1);
    expect(sim.stats()).toMatchObject({ stalling: 0, aborted: 1 });
  });
});

describe('past the ceiling in reject mode', () => {
  it('answers 429 with code 1302 at once and serves the others', async () => {
    sim = await startSimulator({
      ceiling: 2,
      mode: 'reject',
      source: 'generate',
      outputTokens: 300,
      tokensPerSecond: 100,
    });
    await openStreams(sim, 2);

    const response = await settlesWithin(postChat(sim.baseURL), 5_000);
    expect(response).not.toBe('timeout');
    const rejected = response as Response;
    expect(rejected.status).toBe(429);
    expect(await rejected.json()).toEqual({
      error: { code: '1302', message: expect.stringMatching(/并发/) },
    });
    expect(sim.stats()).toMatchObject({ rejected: 1, peakStreaming: 2, peakInFlight: 3 });
  });
});

describe('past the ceiling in slow mode', () => {
  it('serves every stream and slows them in proportion to the load over the ceiling', async () => {
    const outputTokens = 40;
    const tokensPerSecond = 200;
    const aloneMs = ((outputTokens + 1) * 1000) / tokensPerSecond;
    sim = await startSimulator({
      ceiling: 2,
      mode: 'slow',
      source: 'generate',
      outputTokens,
      tokensPerSecond,
    });

    // Six streams on a ceiling of two run at a third of the rate while all are open.
    const startedAt = performance.now();
    const bodies = await Promise.all(
      Array.from({ length: 6 }, async () => (await postChat(sim!.baseURL)).text()),
    );
    const elapsedMs = performance.now() - startedAt;

    for (const body of bodies) {
      const got = assemble(ssePayloads(body));
      expect(got.done).toBe(true);
      expect(got.content.split(' ')).toHaveLength(outputTokens);
    }
    expect(elapsedMs).toBeGreaterThan(aloneMs * 2);
    expect(sim.stats()).toMatchObject({ peakStreaming: 6, completed: 6, rejected: 0, stalled: 0 });
  });

  it('runs a stream under the ceiling as fast as stall mode does', async () => {
    // Compared with the same stream in stall mode rather than a wall-clock bound, so a busy
    // machine slows both sides alike.
    const timeOne = async (mode: 'slow' | 'stall') => {
      const target = await startSimulator({
        ceiling: 2,
        mode,
        source: 'generate',
        outputTokens: 60,
      });
      try {
        const startedAt = performance.now();
        await (await postChat(target.baseURL)).text();
        return performance.now() - startedAt;
      } finally {
        await target.close();
      }
    };
    await timeOne('stall');
    const stallMs = await timeOne('stall');
    const slowMs = await timeOne('slow');
    // Slowed, it would take at least twice as long.
    expect(slowMs / stallMs).toBeLessThan(1.6);
  });
});

describe('load measurement', () => {
  it('counts peaks and samples a timeline that returns to zero', async () => {
    sim = await startSimulator({ ceiling: 3, source: 'generate', outputTokens: 30 });
    await Promise.all(Array.from({ length: 3 }, async () => (await postChat(sim!.baseURL)).text()));
    await waitUntil(() => sim!.stats().inFlight === 0);

    const stats = sim.stats();
    expect(stats).toMatchObject({ requests: 3, completed: 3, peakInFlight: 3, peakStreaming: 3 });
    expect(stats.timeline.map((s) => s.inFlight)).toContain(3);
    expect(stats.timeline.at(-1)).toMatchObject({ inFlight: 0, streaming: 0 });
    const times = stats.timeline.map((s) => s.t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('resetStats zeroes the counters and restarts the peaks from the current load', async () => {
    sim = await startSimulator({
      ceiling: 3,
      source: 'generate',
      outputTokens: 300,
      tokensPerSecond: 100,
    });
    await openStreams(sim, 2);
    expect(sim.stats().requests).toBe(2);

    sim.resetStats();
    expect(sim.stats()).toMatchObject({
      requests: 0,
      completed: 0,
      inFlight: 2,
      peakInFlight: 2,
      streaming: 2,
      peakStreaming: 2,
    });
    expect(sim.stats().timeline).toHaveLength(1);
  });

  it('applies setCeiling and setMode to requests that arrive afterwards', async () => {
    sim = await startSimulator({
      ceiling: 1,
      mode: 'reject',
      source: 'generate',
      outputTokens: 300,
      tokensPerSecond: 100,
    });
    await openStreams(sim, 1);
    expect((await postChat(sim.baseURL)).status).toBe(429);

    sim.setCeiling(2);
    expect((await postChat(sim.baseURL)).status).toBe(200);
    sim.setMode('stall');
    sim.setCeiling(2);
    expect(await settlesWithin(postChat(sim.baseURL), 300)).toBe('timeout');
    expect(() => sim!.setCeiling(0)).toThrow(/ceiling must be an integer >= 1, got 0/);
    expect(() => sim!.setMode('drop' as never)).toThrow(
      /mode must be one of 'stall', 'reject', 'slow'/,
    );
  });
});

describe('a stall at the byte level', () => {
  it('sends not one byte during the stall, then a complete 429 response', async () => {
    sim = await startSimulator({
      ceiling: 1,
      stallMs: 500,
      source: 'generate',
      outputTokens: 300,
      tokensPerSecond: 100,
    });
    await openStreams(sim, 1);

    const body = JSON.stringify(chatBody());
    const socket = connect(sim.port, '127.0.0.1');
    const received: Buffer[] = [];
    const firstByteAt = new Promise<number>((resolve) => {
      socket.once('data', () => resolve(performance.now()));
    });
    socket.on('data', (part: Buffer) => received.push(part));
    const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()));
    const sentAt = performance.now();
    socket.write(
      `POST /api/coding/paas/v4/chat/completions HTTP/1.1\r\nHost: x\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );

    expect((await firstByteAt) - sentAt).toBeGreaterThanOrEqual(490);
    await ended;
    const text = Buffer.concat(received).toString('utf8');
    expect(text.startsWith('HTTP/1.1 429')).toBe(true);
    expect(text).toContain('"code":"1302"');
  });
});
