import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createBudgetRegistry, createRouter, type Router } from '@sluice/core';
import { provider as zhipu } from '@sluice/provider-zhipu';
import { startSimulator, type Simulator } from '@sluice/simulator';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, type Fleet, type Session } from '@sluice/fleet-adapter';
import {
  createDashboardToken,
  createReadinessTracker,
  fleetSessionSource,
  startDashboard,
  type Dashboard,
  type ReadinessTracker,
} from '../src/index.js';

// A real browser against a real dashboard, fed by a real router streaming from the simulator.
// Chromium comes from the system (Debian's `chromium`; .ci/run installs it). Locally, a missing
// Chromium skips this file with a loud message; in CI (process.env.CI) it fails instead.
const executablePath = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(executablePath);
if (!haveChromium && process.env.CI) {
  throw new Error(
    `Chromium not found at ${executablePath}: CI must run the dashboard browser test. ` +
      'Install it (apt-get install -y chromium) or set SLUICE_CHROMIUM.',
  );
}
if (!haveChromium) {
  process.stderr.write(
    `\n\n!!!!! SKIPPING the dashboard browser test: no Chromium at ${executablePath}. !!!!!\n` +
      '!!!!! Install it with `apt-get install -y chromium` or set SLUICE_CHROMIUM. !!!!!\n\n',
  );
}

const SECRET = 'sk-browser-SECRET-5a4b3c2d1e0f9988';
const artifacts = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

describe.skipIf(!haveChromium)('dashboard in headless Chromium', { timeout: 60_000 }, () => {
  let simulator: Simulator;
  let router: Router;
  let tracker: ReadinessTracker;
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  let fleet: Fleet;
  const children = new Map<string, Session>();

  beforeAll(async () => {
    simulator = await startSimulator({
      ceiling: 3,
      mode: 'reject',
      source: 'generate',
      outputTokens: 40,
      tokensPerSecond: 20,
    });
    router = createRouter({
      config: {
        providers: {
          glm: { use: 'zhipu', endpoint: simulator.baseURL, apiKey: SECRET, maxConcurrency: 3 },
        },
        routes: { default: { provider: 'glm', model: 'glm-4.6' } },
      },
      providers: [zhipu],
      budgets: createBudgetRegistry(),
    });
    fleet = createFleet({ router });
    for (const name of ['child-1', 'child-2', 'child-3'])
      children.set(name, fleet.root.spawn(name));
    tracker = createReadinessTracker({
      router,
      sampleIntervalMs: 250,
      historyMs: 30_000,
      sessions: fleetSessionSource(fleet),
    });
    dashboard = await startDashboard({ tracker, intervalMs: 500 });
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    tracker?.close();
    await fleet?.close();
    await router?.close();
    await simulator?.close();
  });

  function chat(name: string): Promise<string> {
    const session = children.get(name)!;
    return session.chat({ messages: [{ role: 'user', content: `hello from ${name}` }] }).text();
  }

  const gauge = () => page.locator('[data-budget]').first();

  it('loads the page and shows the route, not checked yet, with no error and no failed request', async () => {
    const errors: string[] = [];
    const consoleErrors: string[] = [];
    const failedRequests: string[] = [];
    const requested: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('request', (request) => requested.push(new URL(request.url()).pathname));
    page.on('requestfailed', (request) =>
      failedRequests.push(`${request.url()}: ${request.failure()?.errorText ?? 'failed'}`),
    );
    page.on('response', (response) => {
      if (response.status() >= 400) failedRequests.push(`${response.url()}: ${response.status()}`);
    });
    await page.goto(dashboard.url);
    await expect.poll(() => page.title()).toBe('Sluice readiness');
    await page.waitForSelector('tr[data-route="default"][data-state="not-checked"]');
    await page.waitForSelector('#conn.live');
    expect(await gauge().getAttribute('data-limit')).toBe('3');
    expect(await gauge().getAttribute('data-active')).toBe('0');
    // The browser asks for a favicon after the load; give it the time to fail if it is going to.
    await page.waitForLoadState('networkidle');
    expect(errors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
    expect(requested).toEqual(['/', '/events']);
  });

  it('a running fleet moves the gauges and the chart, then the route is ready', async () => {
    const streams = ['child-1', 'child-2', 'child-3', 'child-1', 'child-2', 'child-3'].map(chat);

    await page.waitForSelector('[data-budget][data-active="3"]', { timeout: 10_000 });
    await page.waitForFunction(
      () => Number(document.querySelector('[data-budget]')?.getAttribute('data-queued')) > 0,
      undefined,
      { timeout: 10_000 },
    );
    await page.waitForFunction(
      () =>
        Number(document.getElementById('chart-active')?.getAttribute('data-max')) >= 3 &&
        Number(document.getElementById('chart-queued')?.getAttribute('data-max')) >= 1,
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.locator('[data-session="root/child-2"]').textContent()).toMatch(
      /child-2 active · 2 req · [12] in flight/,
    );
    expect(await page.locator('#gauges svg .gauge-arc').first().getAttribute('data-pct')).toBe(
      '100.0',
    );

    const texts = await Promise.all(streams);
    expect(texts.every((text) => text.length > 0)).toBe(true);
    await page.waitForSelector('tr[data-route="default"][data-state="ready"]', { timeout: 10_000 });
    await page.waitForSelector('[data-budget][data-active="0"][data-queued="0"]');
    expect(simulator.stats().peakInFlight).toBeLessThanOrEqual(3);
  });

  it('turns the route degraded when the simulator answers 1302, and saves a screenshot', async () => {
    simulator.setCeiling(1);
    // Some of these fail after their retries (1302) while the page is checked: settle them now,
    // so a rejection is never unhandled while the test is still waiting for the page.
    const streams = Promise.allSettled(['child-1', 'child-2', 'child-3'].map(chat));

    await page.waitForSelector('tr[data-route="default"][data-state="degraded"]', {
      timeout: 15_000,
    });
    const note = await page.locator('tr[data-note-for="default"]').textContent();
    expect(note).toMatch(/rate-limit|[Cc]ooldown/);
    expect(note).toContain('fix');
    await page.waitForSelector('rect[data-kind="rate-limit"]');

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: `${artifacts}dashboard.png`, fullPage: true });
    expect(existsSync(`${artifacts}dashboard.png`)).toBe(true);

    const html = await page.content();
    expect(html).not.toContain(SECRET);
    for (const path of ['readiness.json', 'metrics']) {
      const body = await (await fetch(`${dashboard.url}${path}`)).text();
      expect(body.length).toBeGreaterThan(100);
      expect(body).not.toContain(SECRET);
    }

    await streams;
  });

  it('with a token, the page passes it on to its own SSE stream', async () => {
    const token = createDashboardToken();
    const guarded = await startDashboard({ tracker, token });
    try {
      const other = await browser.newPage();
      await other.goto(guarded.url);
      await other.waitForSelector('tr[data-route="default"]');
      await other.waitForSelector('#conn.live');
      await other.goto(guarded.url.replace(/\?token=.*/, ''));
      expect(await other.content()).toContain('Forbidden');
      await other.close();
    } finally {
      await guarded.close();
    }
  });

  it('shows markup in a provider error message as text, never as markup', async () => {
    const markup = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
    const route = router.route();
    tracker.record({
      type: 'request-end',
      requestId: 'xss-1',
      route: route.name,
      instance: route.instance,
      providerId: route.provider.id,
      budgetKey: route.budgetKey,
      time: Date.now(),
      attempts: 1,
      outcome: 'failure',
      durationMs: 1,
      waitedMs: 0,
      error: { kind: 'server', code: 'SLUICE_SERVER', message: markup, status: 500 },
    });
    await page.waitForSelector('tr[data-route="default"][data-state="failing"]');
    const note = await page.locator('tr[data-note-for="default"]').textContent();
    expect(note).toContain(markup);
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('#routes-body img').count()).toBe(0);
  });
});
