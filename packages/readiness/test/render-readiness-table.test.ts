import { describe, expect, it } from 'vitest';
import { projectReadiness, renderReadinessTable } from '../src/index.js';
import { SECRET_KEY, eventsFor, fixedBudget, makeRoute } from './support/make-route.js';

const T0 = 1_750_000_000_000;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

function snapshot() {
  const ok = makeRoute({ name: 'default' });
  const flaky = makeRoute({
    name: 'reasoner',
    model: 'glm-4.5-air',
    budgetKey: 'glm:a1b2c3d4e5f6',
  });
  const nokey = makeRoute({
    name: 'zai',
    instance: 'zai',
    budgetKey: 'zai:nokey',
    apiKey: undefined,
    apiKeyEnvTried: ['ZAI_API_KEY'],
  });
  const okEvents = eventsFor(ok);
  const flakyEvents = eventsFor(flaky);
  return projectReadiness({
    routes: [ok, flaky, nokey],
    events: [
      ...okEvents.success(T0, { ttftMs: 350, waitedMs: 20 }),
      ...okEvents.success(T0 + 100, { ttftMs: 650, waitedMs: 1500 }),
      ...flakyEvents.failure(T0 + 200, 'timeout', {
        message: `Headers did not arrive within 45 s (key ${SECRET_KEY}).`,
      }),
    ],
    budgets: [fixedBudget('glm:a1b2c3d4e5f6', { limit: 3, active: 2, pending: 1 })],
    now: T0 + 2000,
  });
}

describe('renderReadinessTable', () => {
  it('prints one row per route with real values, and the fix under each row that is not ready', () => {
    const text = renderReadinessTable(snapshot(), { color: false, width: 160 });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^STATE\s+ROUTE\s+PROVIDER\s+MODEL\s+IN FLIGHT\s+QUEUED/);

    const ready = lines.find((line) => line.includes('default *'));
    expect(ready).toMatch(
      /^✓ ready\s+default \*\s+glm \(zhipu\)\s+glm-4\.6\s+2\/3\s+1\s+20 ms \/ 1\.5 s\s+350 ms \/ 650 ms\s+-$/,
    );

    const failingAt = lines.findIndex((line) => line.startsWith('✗ failing'));
    expect(lines[failingAt]).toContain('reasoner');
    expect(lines[failingAt]).toContain('timeout 1');
    expect(lines[failingAt + 1]).toContain('The last request failed (timeout)');
    expect(lines.slice(failingAt + 1, failingAt + 4).join(' ')).toContain(
      "fix: Check the provider's status, or raise providers.glm.timeouts",
    );

    const missing = lines.findIndex((line) => line.startsWith('✗ missing-credential'));
    expect(lines.slice(missing + 1, missing + 4).join(' ')).toContain('fix: Set ZAI_API_KEY');
    expect(text).toContain('* default route: default');
  });

  it('has no ANSI codes without color, and colors states with color', () => {
    const plain = renderReadinessTable(snapshot(), { color: false });
    expect(plain).not.toMatch(ANSI);

    const colored = renderReadinessTable(snapshot(), { color: true });
    expect(colored).toContain('\u001b[32m✓ ready'); // green
    expect(colored).toContain('\u001b[31m✗ failing'); // red
    expect(colored.replace(ANSI, '')).toBe(plain);
  });

  it('keeps every line within the width', () => {
    for (const width of [80, 100]) {
      const text = renderReadinessTable(snapshot(), { color: false, width });
      for (const line of text.split('\n')) expect([...line].length).toBeLessThanOrEqual(width);
    }
  });

  it('never prints a key value', () => {
    expect(renderReadinessTable(snapshot(), { color: true, width: 300 })).not.toContain(SECRET_KEY);
  });

  it('shows an active cooldown with its countdown', () => {
    const route = makeRoute();
    const ev = eventsFor(route);
    const text = renderReadinessTable(
      projectReadiness({ routes: [route], events: [ev.cooldown(T0, T0 + 8000)], now: T0 }),
      { color: false, width: 140 },
    );
    expect(text).toContain('⏸8 s');
    expect(text).toContain('cooldown on glm:a1b2c3d4e5f6: 8 s left');
  });
});
