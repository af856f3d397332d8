import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cleanEnv, runSluice } from './run-sluice.js';

interface SnapshotJSON {
  defaultRoute: string;
  routes: Array<{ name: string; state: string; reason: string; fix: string | null }>;
}

describe('sluice check', () => {
  test('without a key the default GLM route is missing its credential, naming the env vars; exit 1', async () => {
    const run = await runSluice(['check', '--json']);

    expect(run.code).toBe(1);
    const snapshot = JSON.parse(run.stdout) as SnapshotJSON;
    const route = snapshot.routes.find((r) => r.name === snapshot.defaultRoute)!;
    expect(route.state).toBe('missing-credential');
    expect(route.reason).toContain('ZHIPU_API_KEY');
    expect(route.reason).toContain('ZAI_API_KEY');
  });

  test('--probe on the simulator sends one request through the budget and reports ready; exit 0', async () => {
    const run = await runSluice(['check', '--simulate', '--probe', '--json']);

    expect(run.code).toBe(0);
    const snapshot = JSON.parse(run.stdout) as SnapshotJSON;
    expect(snapshot.routes.map((r) => [r.name, r.state])).toEqual([['default', 'ready']]);
  });

  test('a config with a literal key never shows the key in the table or the JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-check-'));
    const file = join(dir, 'sluice.config.json');
    const secret = 'zk-9f8e7d6c5b4a39281706.QwErTyUiOp';
    writeFileSync(
      file,
      JSON.stringify({
        // A loopback port nobody listens on: a probe must never leave this machine.
        providers: { glm: { use: 'zhipu', apiKey: secret, endpoint: 'http://127.0.0.1:9/v4' } },
        routes: {
          default: { provider: 'glm', model: 'glm-4.6' },
          broken: { provider: 'nope', model: 'x' },
        },
      }),
    );

    const table = await runSluice(['check', '--config', file], { env: cleanEnv() });
    const json = await runSluice(['check', '--config', file, '--json'], { env: cleanEnv() });

    const probed = await runSluice(['check', '--config', file, '--probe', '--json'], {
      env: cleanEnv(),
    });
    expect(JSON.parse(probed.stdout).routes.map((r: { state: string }) => r.state)).toContain(
      'invalid-route',
    );
    expect(table.stdout).toMatch(/not-checked/);
    expect(table.stdout).toMatch(/invalid-route/);
    const snapshot = JSON.parse(json.stdout) as SnapshotJSON;
    expect(snapshot.routes.find((r) => r.name === 'broken')!.state).toBe('invalid-route');
    for (const out of [table.stdout, table.stderr, json.stdout, json.stderr, probed.stdout]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain('9f8e7d6c5b4a3928');
    }
  });
});

describe('sluice dashboard --simulate', () => {
  test('serves readiness JSON and metrics while a simulated fan-out runs; Ctrl-C exits 0', async () => {
    let url: string | undefined;
    let readiness: SnapshotJSON | undefined;
    let metrics = '';
    const run = await runSluice(['dashboard', '--simulate', '--port', '0', '--json'], {
      onStdout: (text, kill) => {
        const match = /"url":"([^"]+)"/.exec(text);
        if (!match || url) return;
        url = match[1]!;
        void (async () => {
          await new Promise((r) => setTimeout(r, 1_500));
          readiness = (await (await fetch(new URL('/readiness.json', url))).json()) as SnapshotJSON;
          metrics = await (await fetch(new URL('/metrics', url))).text();
          kill('SIGINT');
        })().catch(() => kill('SIGKILL'));
      },
    });

    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(readiness!.routes[0]!.name).toBe('default');
    expect(metrics).toMatch(/sluice_/);
    expect(run.code).toBe(0);
  }, 40_000);
});
