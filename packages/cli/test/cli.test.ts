import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cleanEnv, runSluice } from './run-sluice.js';

interface RunJSON {
  failures: number;
  headerStalls: number;
  requests: number;
  peakInFlightServer: number;
  peakInFlightClient: number;
  sessions: Array<{ name: string; requests: number; succeeded: number }>;
}

describe('sluice fleet --simulate', () => {
  test('the budgeted fan-out completes with peak in flight at the server within the zhipu budget', async () => {
    const run = await runSluice([
      'fleet',
      '--simulate',
      '--children',
      '3',
      '--tasks',
      '2',
      '--json',
    ]);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as RunJSON;
    expect(report.failures).toBe(0);
    expect(report.requests).toBe(8);
    expect(report.sessions.map((s) => s.name)).toEqual(['root', 'child-1', 'child-2', 'child-3']);
    expect(report.sessions.every((s) => s.succeeded === 2)).toBe(true);
    expect(report.peakInFlightServer).toBeLessThanOrEqual(3);
    expect(report.peakInFlightServer).toBeGreaterThanOrEqual(1);
  });

  test('prints a summary table with every session when not asked for JSON', async () => {
    const run = await runSluice(['fleet', '--simulate', '--children', '1', '--tasks', '1']);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/root\s+│\s+1\s+│\s+1/);
    expect(run.stdout).toMatch(/child-1/);
    expect(run.stdout).toMatch(/peak in flight [1-3] \(server\)/);
    // Not a TTY: no escape codes, no live redraws.
    expect(run.stdout.includes('\u001b[')).toBe(false);
  });
});

describe('sluice demo', () => {
  test('the uncapped run stalls past the ceiling; the shared budget has no failures at peak 3', async () => {
    const run = await runSluice(['demo', '--json']);

    expect(run.code).toBe(0);
    const { runs } = JSON.parse(run.stdout) as { runs: Array<RunJSON & { label: string }> };
    const [uncapped, budgeted] = runs;
    expect(uncapped!.label).toBe('no client cap');
    expect(uncapped!.peakInFlightServer).toBeGreaterThan(3);
    expect(uncapped!.headerStalls).toBeGreaterThan(0);
    expect(budgeted!.label).toBe('shared budget');
    expect(budgeted!.failures).toBe(0);
    expect(budgeted!.headerStalls).toBe(0);
    expect(budgeted!.peakInFlightServer).toBe(3);
    expect(budgeted!.requests).toBe(24);
  }, 90_000);
});

describe('sluice --version', () => {
  test('prints the version of the CLI package from its package.json; exit 0', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      const run = await runSluice([flag]);

      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${pkg.version}\n`);
      expect(run.stderr).toBe('');
    }
  });
});

describe('usage errors exit 2 with one line and the fix', () => {
  test('a bad flag value names the flag', async () => {
    const run = await runSluice(['fleet', '--simulate', '--children', 'lots']);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--children must be a whole number from 0 to 64, got "lots"/);
    expect(run.stdout).toBe('');
  });

  test('simulate on a port in use names --port; exit 2', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const run = await runSluice(['simulate', '--port', String(port)]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        `port ${port} is in use; pick another with --port, or --port 0 for a free one.`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  test('--simulate with --config says one of them would be ignored; exit 2', async () => {
    for (const command of ['fleet', 'check', 'chat']) {
      const args =
        command === 'chat'
          ? [command, '--simulate', '--config', 'sluice.config.ts', 'hi']
          : [command, '--simulate', '--config', 'sluice.config.ts'];
      const run = await runSluice(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('would ignore --config; drop one of the two');
    }
  });

  test('dashboard off loopback without a token names --token once, not the library API; exit 2', async () => {
    const run = await runSluice(['dashboard', '--simulate', '--host', '0.0.0.0', '--port', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Refusing to serve the dashboard on 0.0.0.0 without a token');
    expect(run.stderr.match(/--token/g)).toHaveLength(1);
    expect(run.stderr).not.toContain('createDashboardToken');
  });

  test('an unknown command suggests the closest one', async () => {
    const run = await runSluice(['flet']);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Did you mean fleet\?/);
  });

  test('with no simulator, no config and no key it says how to run each', async () => {
    const run = await runSluice(['fleet']);

    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('sluice fleet --simulate');
    expect(run.stderr).toContain('ZHIPU_API_KEY');
    expect(run.stderr).toContain('--config');
  });

  test('a bad config names the field and the fix, and never shows the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    const file = join(dir, 'sluice.config.json');
    const secret = 'sk-live-0123456789abcdef0123';
    writeFileSync(
      file,
      JSON.stringify({
        providers: { glm: { use: 'zhipu', apiKey: secret, maxConcurency: 3 } },
        routes: { default: { provider: 'glm', model: 'glm-4.6' } },
      }),
    );
    const run = await runSluice(['fleet', '--config', file], { env: cleanEnv() });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('providers.glm.maxConcurency');
    expect(run.stderr).toContain('maxConcurrency');
    expect(run.stderr).not.toContain(secret);
  });
});

describe('more usage errors: exit 2, one line, nothing hangs', () => {
  test.each([
    [['fleet', '--simulate', '--route', 'nope'], /route "nope"|nope/],
    [['check', '--config', '/nonexistent/sluice.config.json'], /nonexistent/],
    [['simulate', '--ceiling', '0'], /--ceiling must be a whole number from 1/],
    [['chat', '  ', '--simulate'], /the prompt is empty/],
    [['dashboard', '--simulate', '--token', 'short'], /--token with at least 16/],
    [['dashboard', '--simulate', '--host', '0.0.0.0'], /--token/],
  ])(
    'sluice %j',
    async (args, message) => {
      const run = await runSluice(args);

      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
    },
    30_000,
  );

  test('no command prints the help on stderr and exits 2', async () => {
    const run = await runSluice([]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Usage: sluice/);
    expect(run.stderr).toMatch(/fleet/);
  });
});

describe('a sluice.config.* in the working directory', () => {
  test('is used when no --config is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cwd-'));
    writeFileSync(
      join(dir, 'sluice.config.json'),
      JSON.stringify({
        providers: {
          mine: { use: 'zhipu', endpoint: 'http://127.0.0.1:9/v4', apiKey: 'k-0123456789abcdef' },
        },
        routes: { myroute: { provider: 'mine', model: 'glm-4.6' } },
      }),
    );
    const run = await runSluice(['check', '--json'], { cwd: dir });

    const snapshot = JSON.parse(run.stdout) as { routes: Array<{ name: string }> };
    expect(snapshot.routes.map((r) => r.name)).toEqual(['myroute']);
  });
});

describe('Ctrl-C', () => {
  test('cancels every stream and prints the partial summary', async () => {
    let sent = false;
    const run = await runSluice(['fleet', '--simulate', '--children', '3', '--tasks', '50'], {
      onStdout: (text, kill) => {
        if (!sent && text.includes('fleet:')) {
          sent = true;
          setTimeout(() => kill('SIGINT'), 1_500);
        }
      },
    });

    expect(sent).toBe(true);
    expect(run.code).toBe(130);
    expect(run.stdout).toContain('cancelled: partial summary');
    expect(run.stdout).toMatch(/child-3/);
    // The cancelled requests have their column, so each row adds up (trial: they were invisible).
    const header = run.stdout.split('\n').find((line) => line.includes('session'))!;
    expect(
      header
        .split(/[\s│]+/)
        .filter(Boolean)
        .slice(0, 5),
    ).toEqual(['session', 'requests', 'ok', 'failed', 'cancelled']);
    const root = run.stdout.split('\n').find((line) => /^[\s│]*root[\s│]/.test(line))!;
    const [requests, ok, failed, cancelled] = root
      .split(/[\s│]+/)
      .filter(Boolean)
      .slice(1, 5)
      .map(Number);
    expect(cancelled).toBeGreaterThan(0);
    expect(ok! + failed! + cancelled!).toBe(requests);
  }, 30_000);
});

describe('SIGTERM (trial: kill, timeout and docker stop got no clean shutdown)', () => {
  test('fleet cancels every stream, prints the partial summary and exits 143', async () => {
    let sent = false;
    const run = await runSluice(['fleet', '--simulate', '--children', '2', '--tasks', '50'], {
      onStdout: (text, kill) => {
        if (!sent && text.includes('fleet:')) {
          sent = true;
          setTimeout(() => kill('SIGTERM'), 1_500);
        }
      },
    });

    expect(sent).toBe(true);
    expect(run.signal).toBeNull();
    expect(run.code).toBe(143);
    expect(run.stdout).toContain('cancelled: partial summary');
  }, 30_000);

  test('simulate closes its server, prints what it served and exits 0', async () => {
    let url: string | undefined;
    const run = await runSluice(['simulate', '--port', '0'], {
      onStdout: (text, kill) => {
        const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(text);
        if (!match || url) return;
        url = match[1]!;
        kill('SIGTERM');
      },
    });

    expect(url).toBeDefined();
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/served 0 of 0 requests/);
  }, 30_000);
});

describe('sluice chat --simulate', () => {
  test('streams the recorded GLM answer', async () => {
    const run = await runSluice(['chat', 'hello', '--simulate', '--json']);

    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      text: string;
      finishReason: string;
      usage: { totalTokens: number };
    };
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.finishReason).toBe('stop');
    expect(result.usage.totalTokens).toBeGreaterThan(0);
  }, 30_000);
});
