import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cleanEnv, runSluice } from './run-sluice.js';

interface SnapshotJSON {
  defaultRoute: string;
  routes: Array<{
    name: string;
    state: string;
    reason: string;
    fix: string | null;
    budget: { backend: string; health: { state: string; detail: string | null } | null } | null;
    recent: {
      requests: number;
      failures: number;
      failuresByKind: Record<string, number>;
      failedAttemptsByKind: Record<string, number>;
      lastError: { kind: string; message: string } | null;
    };
  }>;
}

/** A config file with one zhipu instance; `instance` adds fields (budget, retry). */
function configFile(instance: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-check-')), 'sluice.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      providers: { glm: { use: 'zhipu', apiKey: 'k-0123456789abcdef', ...instance } },
      routes: { default: { provider: 'glm', model: 'glm-4.6' } },
    }),
  );
  return file;
}

describe('sluice check', () => {
  test('names the config file it read, and the other sluice.config.* it did not', async () => {
    const json = configFile({});
    const dir = join(json, '..');
    writeFileSync(
      join(dir, 'sluice.config.mjs'),
      `export default ${readFileSync(json, 'utf8')};\n`,
    );

    const run = await runSluice(['check'], { cwd: dir });

    expect(run.stdout).toContain(
      `config: ${join(dir, 'sluice.config.mjs')} (also found, not read: sluice.config.json)`,
    );
    const alone = await runSluice(['check', '--config', json]);
    expect(alone.stdout).toContain(`config: ${json} (also found, not read: sluice.config.mjs)`);
  });

  test('without a key the default GLM route is missing its credential, naming the env vars; exit 1', async () => {
    const run = await runSluice(['check', '--json']);

    expect(run.code).toBe(1);
    const snapshot = JSON.parse(run.stdout) as SnapshotJSON;
    const route = snapshot.routes.find((r) => r.name === snapshot.defaultRoute)!;
    expect(route.state).toBe('missing-credential');
    expect(route.reason).toContain('ZHIPU_API_KEY');
    expect(route.reason).toContain('ZAI_API_KEY');
  });

  test('with no config file, the table says these are the built-in routes and what else to run', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sluice-check-empty-'));

    const run = await runSluice(['check'], { cwd: empty });

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('missing-credential');
    expect(run.stdout).toContain(
      'config: none found (no --config, no sluice.config.* in the working directory), so this is the built-in GLM Coding Plan route.',
    );
    expect(run.stdout).toContain('try `sluice check --simulate`');
    expect(run.stdout).toContain('--config sluice.config.ts');

    // With a key, the route is configured: the line points at --probe instead, and no key shows.
    const keyed = await runSluice(['check'], {
      cwd: empty,
      env: cleanEnv({ ZHIPU_API_KEY: 'sk-trial-SECRET-0123456789' }),
    });
    expect(keyed.stdout).toContain('built-in GLM Coding Plan route');
    expect(keyed.stdout).toContain('Add --probe to send it one request.');
    expect(keyed.stdout).not.toContain('--simulate');
    expect(keyed.stdout + keyed.stderr).not.toContain('SECRET');

    // A config file found in the directory is named instead.
    const file = configFile({});
    const named = await runSluice(['check'], { cwd: join(file, '..') });
    expect(named.stdout).not.toContain('built-in');
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

describe('sluice check --probe', () => {
  test('a Redis budget that is down: the probe runs and reports the budget unavailable; exit 1', async () => {
    const file = configFile({
      // Loopback only: the probe must never leave this machine (no Redis listens on port 1).
      endpoint: 'http://127.0.0.1:9/v4',
      maxConcurrency: 2,
      budget: { backend: 'redis', url: 'redis://127.0.0.1:1' },
    });
    const json = await runSluice(['check', '--probe', '--config', file, '--json']);
    const table = await runSluice(['check', '--probe', '--config', file]);

    for (const run of [json, table]) {
      expect(run.code).toBe(1);
      expect(run.stderr).not.toMatch(/createRouter|budgetBackends|@sluice\/fleet-adapter/);
    }
    const route = (JSON.parse(json.stdout) as SnapshotJSON).routes[0]!;
    expect(route.state).toBe('failing');
    expect(route.budget?.backend).toBe('redis');
    expect(route.budget?.health?.state).toBe('down');
    expect(route.recent.lastError?.kind).toBe('budget-unavailable');
    expect(route.reason).toContain('redis://127.0.0.1:1');
    expect(route.reason).toMatch(/unreachable/);
    expect(table.stdout).toMatch(/failing\s+default/);
    expect(table.stdout).toMatch(/unreachable/);
  }, 30_000);

  test('failures by kind count failed requests, as failures does; attempts are apart', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const file = configFile({
      endpoint: `http://127.0.0.1:${port}/v4`,
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
    });
    const run = await runSluice(['check', '--probe', '--config', file, '--json']);

    expect(run.code).toBe(1);
    const { recent } = (JSON.parse(run.stdout) as SnapshotJSON).routes[0]!;
    expect(recent).toMatchObject({ requests: 1, failures: 1 });
    expect(recent.failuresByKind).toEqual({ network: 1 });
    expect(recent.failedAttemptsByKind).toEqual({ network: 3 });
  }, 30_000);
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
