import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDashboardToken,
  createReadinessMetrics,
  createReadinessTracker,
  startDashboard,
  type Dashboard,
  type ReadinessTracker,
} from '../src/index.js';
import { SECRET_KEY, eventsFor, makeRoute } from './support/make-route.js';

const open: Array<Dashboard | ReadinessTracker> = [];
afterEach(async () => {
  for (const item of open.splice(0)) await item.close();
});

function trackerWithTraffic(): ReadinessTracker {
  const route = makeRoute();
  const tracker = createReadinessTracker({ routes: [route] });
  open.push(tracker);
  const ev = eventsFor(route);
  const now = Date.now();
  [
    ...ev.success(now - 5000, { ttftMs: 250, waitedMs: 30 }),
    ...ev.failure(now - 100, 'rate-limit', {
      retries: 1,
      providerCode: '1302',
      status: 429,
      message: `Too many requests for key ${SECRET_KEY}`,
    }),
  ].forEach((event) => tracker.record(event));
  return tracker;
}

/** GET with a chosen Host header (fetch does not let a test set it). */
function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = request(url, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

/** Reads SSE frames until `count` data frames arrived. */
async function readFrames(url: string, count: number): Promise<string[]> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const frames: string[] = [];
  while (frames.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (frame.startsWith('data: ')) frames.push(frame.slice(6));
    }
  }
  controller.abort();
  return frames;
}

describe('startDashboard', () => {
  it('refuses a non-loopback host without a token, and a short token', async () => {
    const tracker = trackerWithTraffic();
    await expect(startDashboard({ tracker, host: '0.0.0.0' })).rejects.toThrow(
      /Refusing to serve the dashboard on 0\.0\.0\.0 without a token/,
    );
    await expect(startDashboard({ tracker, token: 'short' })).rejects.toThrow(/16 characters/);
  });

  it('serves page, JSON, metrics and SSE on loopback, with no secret in any of them', async () => {
    const tracker = trackerWithTraffic();
    const dashboard = await startDashboard({ tracker, intervalMs: 250 });
    open.push(dashboard);
    expect(dashboard.url).toBe(`http://127.0.0.1:${dashboard.port}/`);

    const page = await get(dashboard.url);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(String(page.headers['content-security-policy'])).toMatch(/script-src 'nonce-/);
    // An empty inline icon, which the policy's img-src allows, so no /favicon.ico request 404s.
    expect(page.body).toContain('<link rel="icon" href="data:,">');
    expect(String(page.headers['content-security-policy'])).toContain("img-src 'self' data:;");
    expect(page.body).toContain('<svg id="chart"');
    expect(page.body).toContain("new EventSource(withToken('/events'))");

    const json = await get(`${dashboard.url}readiness.json`);
    const snapshot = JSON.parse(json.body) as { routes: Array<{ state: string; name: string }> };
    expect(snapshot.routes).toMatchObject([{ name: 'default', state: 'degraded' }]);

    const metrics = await get(`${dashboard.url}metrics`);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.body).toContain('sluice_route_state{route="default",state="degraded"} 1');
    expect(metrics.body).toContain('sluice_route_ready{route="default"} 0');
    // One request failed after one retry: one failed request, two failed attempts.
    expect(metrics.body).toContain('sluice_route_failures{route="default",kind="rate-limit"} 1');
    expect(metrics.body).toContain(
      'sluice_route_failed_attempts{route="default",kind="rate-limit"} 2',
    );
    expect(metrics.body).toContain(
      'sluice_budget_limit{budget="glm:a1b2c3d4e5f6",instance="glm",provider="zhipu"} 3',
    );
    expect(metrics.body).toContain(
      'sluice_route_ttft_seconds{route="default",quantile="0.5"} 0.25',
    );

    const frames = await readFrames(`${dashboard.url}events`, 3);
    expect(frames).toHaveLength(3);
    for (const frame of frames) {
      expect(JSON.parse(frame)).toMatchObject({ schemaVersion: 1, defaultRoute: 'default' });
    }

    for (const text of [page.body, json.body, metrics.body, ...frames]) {
      expect(text).not.toContain(SECRET_KEY);
    }
    expect(json.body).toContain('Too many requests for key sk-t…');
  });

  it('rejects a foreign Host header on loopback (DNS rebinding) and unknown paths', async () => {
    const dashboard = await startDashboard({ tracker: trackerWithTraffic() });
    open.push(dashboard);
    const rebound = await get(`${dashboard.url}readiness.json`, { host: 'evil.example:80' });
    expect(rebound.status).toBe(403);
    const localhost = await get(`${dashboard.url}readiness.json`, {
      host: `localhost:${dashboard.port}`,
    });
    expect(localhost.status).toBe(200);
    expect((await get(`${dashboard.url}nope`)).status).toBe(404);
  });

  it('with a token, requires it as ?token= or Bearer on every path', async () => {
    const token = createDashboardToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const dashboard = await startDashboard({ tracker: trackerWithTraffic(), token });
    open.push(dashboard);
    const base = `http://127.0.0.1:${dashboard.port}`;
    expect(dashboard.url).toBe(`${base}/?token=${token}`);

    expect((await get(`${base}/`)).status).toBe(401);
    expect((await get(`${base}/metrics?token=${token}x`)).status).toBe(401);
    expect((await get(`${base}/readiness.json`, { authorization: 'Bearer nope' })).status).toBe(
      401,
    );
    expect((await get(dashboard.url)).status).toBe(200);
    const bearer = await get(`${base}/readiness.json`, { authorization: `Bearer ${token}` });
    expect(bearer.status).toBe(200);
    expect((await get(`${base}/metrics?token=${token}`)).status).toBe(200);
    expect((await get(`${base}/readiness.json`)).body).not.toContain('routes');
  });

  it('binds a non-loopback host when a token is given', async () => {
    const token = createDashboardToken();
    const dashboard = await startDashboard({
      tracker: trackerWithTraffic(),
      host: '0.0.0.0',
      token,
    });
    open.push(dashboard);
    expect(dashboard.url).toBe(`http://0.0.0.0:${dashboard.port}/?token=${token}`);
    const ok = await get(`http://127.0.0.1:${dashboard.port}/readiness.json?token=${token}`, {
      host: 'dashboard.lan',
    });
    expect(ok.status).toBe(200);
  });

  it('pushes a snapshot on change without waiting for the interval', async () => {
    const route = makeRoute();
    const tracker = createReadinessTracker({ routes: [route] });
    open.push(tracker);
    const dashboard = await startDashboard({ tracker, intervalMs: 60_000 });
    open.push(dashboard);

    const frames = readFrames(`${dashboard.url}events`, 2);
    setTimeout(
      () =>
        eventsFor(route)
          .success(Date.now())
          .forEach((e) => tracker.record(e)),
      50,
    );
    const [first, second] = await frames;
    expect(JSON.parse(first!).routes[0].state).toBe('not-checked');
    expect(JSON.parse(second!).routes[0].state).toBe('ready');
  });
});

/** Every SSE data frame that arrives within `ms` of opening the stream. */
async function framesWithin(url: string, ms: number): Promise<string[]> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => controller.abort(), ms);
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } catch {
    // The abort at `ms` ends the read.
  } finally {
    clearTimeout(timer);
  }
  return text.split('\n\n').filter((frame) => frame.startsWith('data: '));
}

describe('startDashboard options', () => {
  it('rejects intervalMs and minPushGapMs that are not whole ms from 250, naming the option, the range and the fix', async () => {
    const tracker = trackerWithTraffic();
    for (const option of ['intervalMs', 'minPushGapMs'] as const) {
      for (const bad of [0, Number.NaN, -1, 100, 249, 1.5, Infinity, '1000']) {
        const attempt = startDashboard({ tracker, [option]: bad as number });
        await expect(attempt, `${option}: ${String(bad)}`).rejects.toMatchObject({
          kind: 'config',
          message: expect.stringContaining(
            `startDashboard: ${option} must be a whole number of ms from 250 to 2147483647 (a client gets at most 4 snapshots a second), got ${typeof bad === 'string' ? `"${bad}"` : String(bad)}.`,
          ),
          hint: `Pass e.g. { ${option}: ${option === 'intervalMs' ? 1000 : 250} } (the default), or leave it out.`,
        });
      }
    }
  });

  it('rejects unknown options, a bad port and a missing tracker by name', async () => {
    const tracker = trackerWithTraffic();
    await expect(startDashboard({ tracker, interval: 1000 } as never)).rejects.toThrow(
      'startDashboard: unknown option "interval". Its options are tracker, port, host, token, intervalMs, minPushGapMs, title.',
    );
    await expect(startDashboard({ tracker, port: 70_000 })).rejects.toThrow(
      'startDashboard: port must be a whole number from 0 to 65535, got 70000.',
    );
    await expect(startDashboard({} as never)).rejects.toThrow(
      'startDashboard: tracker is missing.',
    );
    await expect(startDashboard({ tracker: {} } as never)).rejects.toThrow(
      'startDashboard: tracker must be a readiness tracker, got an object.',
    );
  });

  it('one SSE client gets at most one snapshot per minPushGapMs, interval pushes included, however busy the tracker', async () => {
    const route = makeRoute();
    const tracker = createReadinessTracker({ routes: [route] });
    open.push(tracker);
    // The interval alone would push 8 times in 2 s; the gap allows one push per 500 ms.
    const dashboard = await startDashboard({ tracker, intervalMs: 250, minPushGapMs: 500 });
    open.push(dashboard);
    // A change every 2 ms: far more than the dashboard may pass on.
    const flood = setInterval(() => {
      for (const event of eventsFor(route).success(Date.now())) tracker.record(event);
    }, 2);
    try {
      const frames = await framesWithin(`${dashboard.url}events`, 2_000);
      // The frame sent on connect, then pushes at least 500 ms apart: at 0, 500, ..., 2000 ms.
      expect(frames.length).toBeGreaterThanOrEqual(3);
      expect(frames.length).toBeLessThanOrEqual(1 + 5);
    } finally {
      clearInterval(flood);
    }
  });
});

describe('startDashboard failure and shutdown', () => {
  it('a snapshot that throws reaches SSE clients as an error frame; the server stays up', async () => {
    const route = makeRoute();
    const tracker = createReadinessTracker({
      routes: [route],
      sessions: () => {
        throw new Error('fleet went away');
      },
    });
    open.push(tracker);
    const dashboard = await startDashboard({ tracker, intervalMs: 250 });
    open.push(dashboard);

    const response = await fetch(`${dashboard.url}events`);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('fleet went away')) text += (await reader.read()).value ?? '';
    expect(text).toContain('event: snapshot-error\ndata: {"message":"fleet went away"}');
    await reader.cancel();
    expect((await get(`${dashboard.url}readiness.json`)).status).toBe(500);
    expect((await get(dashboard.url)).status).toBe(200);
  });

  it('close() ends open SSE streams and frees the port', async () => {
    const dashboard = await startDashboard({ tracker: trackerWithTraffic() });
    const response = await fetch(`${dashboard.url}events`);
    const reader = response.body!.getReader();
    await reader.read();
    await dashboard.close();
    let done = false;
    while (!done) done = (await reader.read().catch(() => ({ done: true }))).done;
    expect(done).toBe(true);
    await expect(fetch(`${dashboard.url}readiness.json`)).rejects.toThrow();
    await dashboard.close();
  });
});

describe('createReadinessMetrics', () => {
  it('uses a registry of its own, so two instances never collide', async () => {
    const tracker = trackerWithTraffic();
    const a = createReadinessMetrics({ snapshot: () => tracker.snapshot() });
    const b = createReadinessMetrics({ snapshot: () => tracker.snapshot() });
    expect(a.registry).not.toBe(b.registry);
    const text = await a.render();
    expect(text).toContain('# TYPE sluice_budget_active gauge');
    expect(await b.render()).toBe(text);
  });
});
