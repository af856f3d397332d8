import { startSimulator, type Simulator, type SimulatorFault } from '@sluice/simulator';
import { afterEach, describe, expect, test } from 'vitest';
import { runSluice } from './run-sluice.js';
import { closedPort, zhipuConfigFile } from './test-config.js';

interface FleetJSON {
  requests: number;
  failures: number;
  retries: number;
  headerStalls: number;
  failuresByKind: Record<string, number>;
  firstErrorByKind: Record<string, string>;
}

const SECRET = 'sk-fleet-0123456789abcdef0123';

let simulator: Simulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

/** A config file with one zhipu instance at `endpoint`; `instance` adds timeouts and retry. */
function configFile(endpoint: string, instance: Record<string, unknown> = {}): string {
  return zhipuConfigFile('fleet', endpoint, SECRET, instance);
}

const ONE_RETRY = { retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } };

async function fleet(file: string) {
  const args = ['fleet', '--config', file, '--children', '0', '--tasks', '1'];
  const [table, json] = await Promise.all([runSluice(args), runSluice([...args, '--json'])]);
  return { table, json, report: JSON.parse(json.stdout) as FleetJSON };
}

describe('sluice fleet says why requests failed', () => {
  test('a refused connection: the first network error is in the summary and the JSON, in the singular', async () => {
    const port = await closedPort();
    const { table, json, report } = await fleet(
      configFile(`http://127.0.0.1:${port}/v4`, ONE_RETRY),
    );

    expect(json.code).toBe(1);
    expect(report).toMatchObject({ requests: 1, failures: 1, retries: 1, headerStalls: 0 });
    expect(report.failuresByKind).toEqual({ network: 1 });
    expect(report.firstErrorByKind.network).toMatch(/ECONNREFUSED/);
    expect(report.firstErrorByKind.network).toContain('route "default"');

    expect(table.code).toBe(1);
    expect(table.stdout).toContain('1 parent + 0 sub-agents x 1 turn on route default');
    expect(table.stdout).toMatch(/, 1 request, 1 retry, 0 header stalls, 1 failed\n/);
    expect(table.stdout).toMatch(/^first network error: .*route "default".*ECONNREFUSED/m);
    for (const out of [table.stdout, table.stderr, json.stdout, json.stderr]) {
      expect(out).not.toContain(SECRET);
    }
  }, 30_000);

  test('a wrong endpoint path (HTTP 404) shows its message and is not a header stall', async () => {
    simulator = await startSimulator({ source: 'generate', outputTokens: 4 });
    const { table, report } = await fleet(configFile(`${simulator.url}/wrong/path/v4`));

    expect(report.failures).toBe(1);
    expect(report.headerStalls).toBe(0);
    const [kind, ...others] = Object.keys(report.failuresByKind);
    expect(others).toEqual([]);
    expect(Object.keys(report.firstErrorByKind)).toEqual([kind]);
    expect(report.firstErrorByKind[kind!]).toMatch(/^HTTP 404 from route "default"/);
    expect(table.stdout).toContain(', 0 header stalls, 1 failed');
    expect(table.stdout).toContain(`first ${kind} error: HTTP 404 from route "default"`);
    expect(table.stdout).not.toContain(SECRET);
  }, 30_000);
});

describe('header stalls count headers deadlines only', () => {
  const timeouts = { timeouts: { headersMs: 300, firstTokenMs: 300 }, ...ONE_RETRY };

  async function stalled(fault: SimulatorFault) {
    simulator = await startSimulator({ source: 'generate', outputTokens: 4, fault });
    return (await fleet(configFile(simulator.baseURL, timeouts))).report;
  }

  test('no headers within headersMs, twice: 2 header stalls (the retried one and the final one)', async () => {
    const report = await stalled({ headersDelayMs: 3_000 });

    expect(report).toMatchObject({ requests: 1, failures: 1, retries: 1, headerStalls: 2 });
    expect(report.failuresByKind).toEqual({ timeout: 1 });
    expect(report.firstErrorByKind.timeout).toMatch(/^No response headers within 300 ms/);
  }, 30_000);

  test('headers, then no first token within firstTokenMs: a timeout, but no header stall', async () => {
    const report = await stalled({ thinkingPauseMs: 3_000 });

    expect(report).toMatchObject({ requests: 1, failures: 1, retries: 1, headerStalls: 0 });
    expect(report.failuresByKind).toEqual({ timeout: 1 });
    expect(report.firstErrorByKind.timeout).toMatch(/^No first token within 300 ms/);
  }, 30_000);
});
