import { ConfigError, SluiceError } from '@sluice/core';
import { startSimulator, type Simulator, type SimulatorFault } from '@sluice/simulator';
import { afterEach, describe, expect, test } from 'vitest';
import { exitCodeOf } from '../src/exit-code.js';
import { UsageError } from '../src/usage-error.js';
import { runSluice } from './run-sluice.js';
import { closedPort, zhipuConfigFile } from './test-config.js';

const SECRET = 'sk-exit-0123456789abcdef0123';
const FAST_RETRY = { retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } };

let simulator: Simulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

/** A config file with one zhipu instance at `endpoint`; `instance` adds timeouts and retry. */
function configFile(endpoint: string, instance: Record<string, unknown> = {}): string {
  return zhipuConfigFile('exit', endpoint, SECRET, { ...FAST_RETRY, ...instance });
}

async function faulty(fault: SimulatorFault, instance: Record<string, unknown> = {}) {
  simulator = await startSimulator({ source: 'generate', outputTokens: 4, fault });
  return configFile(simulator.baseURL, instance);
}

/** `sluice chat hi --config file`, as text and as --json. */
async function chat(file: string, extra: string[] = []) {
  const args = ['chat', 'hi', '--config', file, ...extra];
  return Promise.all([runSluice(args), runSluice([...args, '--json'])]);
}

describe('exitCodeOf: bad input is 2, a failure while running is 1', () => {
  const issue = { path: 'providers.glm.maxConcurrency', message: 'must be a number', fix: 'use 3' };
  const cases: Array<[string, number, unknown]> = [
    ['a UsageError', 2, new UsageError('--children must be a whole number')],
    ['a ConfigError', 2, new ConfigError({ issues: [issue] })],
    ['a SluiceError of kind config', 2, new SluiceError({ kind: 'config', message: 'x' })],
    [
      'a bad-request the router refused before sending',
      2,
      new SluiceError({ kind: 'bad-request', phase: 'config', message: 'empty messages' }),
    ],
    [
      "a provider's own HTTP 400",
      1,
      new SluiceError({ kind: 'bad-request', phase: 'headers', status: 400, message: 'HTTP 400' }),
    ],
    ['a network error', 1, new SluiceError({ kind: 'network', phase: 'connect', message: 'x' })],
    ['a timeout', 1, new SluiceError({ kind: 'timeout', phase: 'headers', message: 'x' })],
    ['a rate limit', 1, new SluiceError({ kind: 'rate-limit', status: 429, message: 'x' })],
    ['a server error', 1, new SluiceError({ kind: 'server', status: 500, message: 'x' })],
    [
      'a missing API key found when sending',
      1,
      new SluiceError({ kind: 'auth', phase: 'config', message: 'No API key' }),
    ],
    ['a plain Error', 1, new Error('boom')],
    ['a thrown string', 1, 'boom'],
  ];
  test.each(cases)('%s: exit %i', (_what, code, error) => {
    expect(exitCodeOf(error)).toBe(code);
  });
});

describe('sluice chat: a runtime failure exits 1, not the usage code 2', () => {
  test('a refused connection (network error after retries)', async () => {
    const port = await closedPort();
    for (const run of await chat(configFile(`http://127.0.0.1:${port}/v4`))) {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^sluice: Connection refused on route "default"/);
      expect(run.stderr).not.toContain(SECRET);
    }
  }, 30_000);

  test('no response headers before the deadline (timeout)', async () => {
    const file = await faulty({ headersDelayMs: 3_000 }, { timeouts: { headersMs: 200 } });
    for (const run of await chat(file)) {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^sluice: No response headers within 200 ms/);
    }
  }, 30_000);

  test('a rate limit after retries (HTTP 429, code 1302)', async () => {
    const file = await faulty({ status: 429 });
    for (const run of await chat(file)) {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^sluice: HTTP 429 from route "default"/);
      expect(run.stderr).not.toContain(SECRET);
    }
    // Both runs retried: 2 attempts each.
    expect(simulator!.stats().requests).toBe(4);
  }, 30_000);

  test("the provider's own HTTP 400 is a failure of the run, not bad input", async () => {
    const file = await faulty({ status: 400 });
    for (const run of await chat(file)) {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^sluice: HTTP 400 from route "default"/);
    }
  }, 30_000);
});

describe('sluice chat: bad input still exits 2', () => {
  test('an unknown route names the routes there are', async () => {
    simulator = await startSimulator({ source: 'generate', outputTokens: 4 });
    for (const run of await chat(configFile(simulator.baseURL), ['--route', 'nope'])) {
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('no route named "nope"; routes: "default"');
    }
    // Nothing was sent.
    expect(simulator.stats().requests).toBe(0);
  });

  test('an unknown flag', async () => {
    const run = await runSluice(['chat', 'hi', '--simulate', '--temperature', '2']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown option '--temperature'/);
  });
});

describe('sluice fleet and check use the same codes', () => {
  test('fleet with failed requests exits 1, with a bad --route 2', async () => {
    const port = await closedPort();
    const file = configFile(`http://127.0.0.1:${port}/v4`);
    const failed = await runSluice(['fleet', '--config', file, '--children', '0', '--tasks', '1']);
    const badRoute = await runSluice(['fleet', '--config', file, '--route', 'nope']);

    expect(failed.code).toBe(1);
    expect(badRoute.code).toBe(2);
    expect(badRoute.stderr).toContain('no route named "nope"');
  }, 30_000);
});
