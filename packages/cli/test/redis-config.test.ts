import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '@sluice/simulator';
import { describe, expect, test } from 'vitest';
import { runSluice } from './run-sluice.js';

const redisUrl = process.env.SLUICE_TEST_REDIS_URL;
if (!redisUrl && !process.env.CI) {
  console.warn(
    '\n!!! SKIPPING the CLI Redis-budget test: SLUICE_TEST_REDIS_URL is not set (CI sets it). !!!\n',
  );
}

describe.skipIf(!redisUrl && !process.env.CI)('sluice fleet --config with a Redis budget', () => {
  test('a route config whose budget is on Redis caps the fan-out at the server', async () => {
    if (!redisUrl) throw new Error('CI must provide SLUICE_TEST_REDIS_URL for the Redis tests.');
    const simulator = await startSimulator({
      ceiling: 2,
      mode: 'reject',
      source: 'generate',
      outputTokens: 12,
    });
    try {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
      const file = join(dir, 'sluice.config.json');
      writeFileSync(
        file,
        JSON.stringify({
          providers: {
            glm: {
              use: 'zhipu',
              endpoint: simulator.baseURL,
              apiKey: 'simulator-key',
              maxConcurrency: 2,
              budget: {
                backend: 'redis',
                url: `${redisUrl}/0?keyPrefix=sluice-cli-test-${Date.now()}:`,
              },
            },
          },
          routes: { default: { provider: 'glm', model: 'glm-4.6' } },
        }),
      );

      const run = await runSluice([
        'fleet',
        '--config',
        file,
        '--children',
        '3',
        '--tasks',
        '2',
        '--json',
      ]);

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as { failures: number; requests: number };
      expect(report.failures).toBe(0);
      expect(report.requests).toBe(8);
      // Reject mode answers 429 past the ceiling: none were needed, and no more than 2 ran at once.
      expect(simulator.stats().rejected).toBe(0);
      expect(simulator.stats().peakInFlight).toBe(2);
    } finally {
      await simulator.close();
    }
  }, 60_000);
});
