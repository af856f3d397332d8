import { describe, expect, it } from 'vitest';

import type { SimulatorEvent } from '../src/index.js';
import { describeSimulator, loadRecordings, startSimulator } from '../src/index.js';
import { chatBody, postChat, waitUntil } from './helpers.js';

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

describe('close', () => {
  it('ends open streams and stalled requests, leaves no timers and frees the port', async () => {
    const timersBefore = activeTimers();
    const sim = await startSimulator({
      ceiling: 1,
      stallMs: 60_000,
      source: 'generate',
      outputTokens: 10_000,
      tokensPerSecond: 50,
      thinkingPauseMs: 0,
    });
    const streaming = await postChat(sim.baseURL);
    await waitUntil(() => sim.stats().streaming === 1);
    const stalled = postChat(sim.baseURL).catch((error: unknown) => error);
    await waitUntil(() => sim.stats().stalling === 1);

    await sim.close();
    await sim.close();

    await expect(streaming.text()).rejects.toThrow();
    expect(await stalled).toBeInstanceOf(Error);
    expect(sim.stats()).toMatchObject({ inFlight: 0, streaming: 0, stalling: 0 });
    expect(activeTimers()).toBeLessThanOrEqual(timersBefore);
    await expect(fetch(`${sim.url}/v1/chat/completions`)).rejects.toThrow();
  });

  it('closes at once when nothing is open', async () => {
    const sim = await startSimulator();
    const startedAt = performance.now();
    await sim.close();
    expect(performance.now() - startedAt).toBeLessThan(1_000);
  });
});

describe('startSimulator options', () => {
  it('binds 127.0.0.1 on a free port and reports its URLs', async () => {
    const sim = await startSimulator();
    try {
      expect(sim.port).toBeGreaterThan(0);
      expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
      expect(sim.baseURL).toBe(`http://127.0.0.1:${sim.port}/api/coding/paas/v4`);
      expect(sim.settings()).toMatchObject({
        ceiling: 3,
        advertised: 10,
        mode: 'stall',
        stallMs: 45_000,
        stallEnd: 'error',
        source: 'recorded',
        tokensPerSecond: 200,
        outputTokens: 64,
      });
    } finally {
      await sim.close();
    }
  });

  it.each([
    [{ ceiling: 0 }, /ceiling must be an integer >= 1, got 0/],
    [{ ceiling: 1.5 }, /ceiling must be an integer >= 1, got 1.5/],
    [{ mode: 'queue' }, /mode must be one of 'stall', 'reject', 'slow', got "queue"/],
    [{ tokensPerSecond: 0 }, /tokensPerSecond must be a positive number/],
    [{ stallMs: -1 }, /stallMs must be an integer >= 0/],
    [{ port: 70_000 }, /port must be an integer 0-65535/],
    [{ fault: { status: 200 } }, /fault.status must be an HTTP error status 400-599/],
    [{ recordingsDir: '/nonexistent/recordings' }, /recordingsDir: folder .* does not exist/],
    [
      { ceilng: 3 },
      /^startSimulator: unknown option "ceilng"; did you mean "ceiling"\? \(options: host, port, ceiling, /,
    ],
    [{ tokensPerSec: 10 }, /unknown option "tokensPerSec"; did you mean "tokensPerSecond"\?/],
    [{ zzz: 1 }, /unknown option "zzz" \(options: host, port, ceiling, .*, onEvent\)$/],
    [
      { recording: 'nope' },
      /^startSimulator: recording "nope" is not in the recordings folder \(known recordings: TestOpenAICompatObjectGeneration__zai-glm-4.5__complex_object.0, /,
    ],
    [
      { recording: 'TestZAICommon__zai-glm-4.6__simpel.0' },
      /did you mean "TestZAICommon__zai-glm-4.6__simple.0"\?/,
    ],
    [{ recording: 42 }, /recording must be a recording name .*, got 42/],
    [
      { source: 'generate', recording: 'TestZAICommon__zai-glm-4.6__simple.0' },
      /needs source: 'recorded'/,
    ],
  ])('rejects %j with an error naming the option', async (options, message) => {
    await expect(startSimulator(options as never)).rejects.toThrow(message);
  });

  it('lists every known recording when the one asked for does not exist', async () => {
    const names = [...loadRecordings().keys()];
    expect(names.length).toBeGreaterThan(10);
    const error = await startSimulator({ recording: 'nope' }).then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).toBe(
      `startSimulator: recording "nope" is not in the recordings folder (known recordings: ${names.join(', ')})`,
    );
  });

  it('rejects a port that is taken, naming the address', async () => {
    const first = await startSimulator();
    try {
      await expect(startSimulator({ port: first.port })).rejects.toThrow(
        new RegExp(`cannot listen on 127.0.0.1:${first.port}`),
      );
    } finally {
      await first.close();
    }
  });
});

describe('describeSimulator', () => {
  it('gives the URLs, the ceiling against the advertised limit and the mode', async () => {
    const sim = await startSimulator({ ceiling: 2, mode: 'reject', apiKey: 'k-123456' });
    try {
      const description = describeSimulator(sim);
      expect(description.url).toBe(sim.url);
      expect(description.baseURLs).toEqual({
        coding: `${sim.url}/api/coding/paas/v4`,
        general: `${sim.url}/api/paas/v4`,
        openai: `${sim.url}/v1`,
      });
      const text = description.lines.join('\n');
      expect(text).toContain(sim.baseURL);
      expect(text).toContain('serves 2 at once (advertised 10)');
      expect(text).toContain('429 (code 1302) at once');
      expect(JSON.stringify(description)).not.toContain('k-123456');
      // The settings shown reflect live changes.
      sim.setCeiling(4);
      expect(describeSimulator(sim).settings.ceiling).toBe(4);
      expect((await postChat(sim.baseURL, chatBody())).status).toBe(401);
    } finally {
      await sim.close();
    }
  });
});

describe('onEvent', () => {
  it('reports each request from arrival to its end, matching the counters', async () => {
    const events: SimulatorEvent[] = [];
    const sim = await startSimulator({
      ceiling: 1,
      stallMs: 200,
      source: 'generate',
      outputTokens: 300,
      onEvent: (event) => events.push(event),
    });
    try {
      const first = await postChat(sim.baseURL, chatBody({ model: 'glm-4.5' }));
      await waitUntil(() => sim.stats().streaming === 1);
      const second = await postChat(sim.baseURL);
      await first.text();
      expect(second.status).toBe(429);
      await waitUntil(() => sim.stats().inFlight === 0);

      const byIndex = (index: number) => events.filter((e) => e.index === index).map((e) => e.type);
      expect(byIndex(0)).toEqual(['request', 'served', 'completed']);
      expect(byIndex(1)).toEqual(['request', 'stalled', 'rejected']);
      expect(events.find((e) => e.type === 'served')).toMatchObject({
        model: 'glm-4.5',
        stream: true,
        load: 1,
      });
      expect(events.find((e) => e.type === 'rejected')).toMatchObject({ after: 'stall' });
      const times = events.map((e) => e.atMs);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    } finally {
      await sim.close();
    }
  });

  it('keeps serving when the listener throws', async () => {
    const sim = await startSimulator({
      source: 'generate',
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    try {
      const response = await postChat(sim.baseURL);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('[DONE]');
    } finally {
      await sim.close();
    }
  });
});
