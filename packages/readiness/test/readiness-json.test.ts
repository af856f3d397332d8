import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  projectReadiness,
  readinessExitCode,
  readinessJSONSchema,
  toReadinessJSON,
  type ReadinessSnapshot,
} from '../src/index.js';
import { SECRET_KEY, eventsFor, makeRoute } from './support/make-route.js';

const T0 = 1_750_000_000_000;
const schemaFile = fileURLToPath(new URL('../readiness.schema.json', import.meta.url));

function mixedSnapshot(): ReadinessSnapshot {
  const ok = makeRoute({ name: 'default' });
  const broken = makeRoute({
    name: 'fast',
    instance: 'zai',
    budgetKey: 'zai:000',
    apiKey: undefined,
    apiKeyEnvTried: ['ZAI_API_KEY'],
  });
  const ev = eventsFor(ok);
  return projectReadiness({
    routes: [ok, broken],
    problems: [{ route: 'typo', message: 'provider instance "glmm" is not declared' }],
    events: [
      ...ev.success(T0, { ttftMs: 420 }),
      ...ev.failure(T0 + 10, 'server', { message: `boom ${SECRET_KEY}` }),
    ],
    sessions: {
      id: 'root',
      name: 'parent',
      requests: 2,
      children: [{ id: 'c1', name: 'child-1', inFlight: 1, children: [] }],
    },
    now: T0 + 1000,
  });
}

describe('toReadinessJSON', () => {
  it('emits the projection with real values and no secret', () => {
    const text = toReadinessJSON(mixedSnapshot());
    const parsed = JSON.parse(text) as ReadinessSnapshot;
    expect(parsed.schemaVersion).toBe(1);
    expect(parsed.routes.map((route) => [route.name, route.state])).toEqual([
      ['default', 'failing'],
      ['fast', 'missing-credential'],
      ['typo', 'invalid-route'],
    ]);
    expect(parsed.routes[0]?.recent.ttftP50Ms).toBe(420);
    expect(parsed.sessions?.[0]?.children[0]?.name).toBe('child-1');
    expect(text).not.toContain(SECRET_KEY);
  });

  it('rejects a snapshot that does not follow the schema', () => {
    const bad = { ...mixedSnapshot(), routes: [{ name: 'x', state: 'sleepy' }] };
    expect(() => toReadinessJSON(bad as unknown as ReadinessSnapshot)).toThrow(/state/);
  });

  it('one-line form for SSE has no newline', () => {
    expect(toReadinessJSON(mixedSnapshot(), 0)).not.toContain('\n');
  });
});

describe('readiness.schema.json', () => {
  it('is in sync with the zod schema (regenerate with `npm run schema`)', () => {
    const onDisk: unknown = JSON.parse(readFileSync(schemaFile, 'utf8'));
    expect(onDisk).toEqual(readinessJSONSchema());
  });

  it('the published file itself accepts real output and rejects a wrong state', () => {
    const onDisk = JSON.parse(readFileSync(schemaFile, 'utf8')) as Parameters<
      typeof z.fromJSONSchema
    >[0];
    const published = z.fromJSONSchema(onDisk);
    const output: unknown = JSON.parse(toReadinessJSON(mixedSnapshot()));
    expect(published.safeParse(output).success).toBe(true);

    const wrong = structuredClone(output) as { routes: Array<{ state: string }> };
    if (wrong.routes[0]) wrong.routes[0].state = 'sleepy';
    expect(published.safeParse(wrong).success).toBe(false);
  });
});

describe('readinessExitCode', () => {
  const route = makeRoute();
  const ev = eventsFor(route);

  it('is 0 when the default route is ready', () => {
    const snapshot = projectReadiness({ routes: [route], events: ev.success(T0), now: T0 + 10 });
    expect(readinessExitCode(snapshot)).toBe(0);
  });

  it('is 1 when the default route cannot work, even if another route is ready', () => {
    const other = makeRoute({ name: 'other', budgetKey: 'o:1' });
    const snapshot = projectReadiness({
      routes: [route, other],
      events: [...ev.failure(T0, 'auth'), ...eventsFor(other).success(T0)],
      now: T0 + 10,
    });
    expect(readinessExitCode(snapshot)).toBe(1);
  });

  it('is 3 when the default route is not checked or degraded', () => {
    expect(readinessExitCode(projectReadiness({ routes: [route], now: T0 }))).toBe(3);
    const cooling = projectReadiness({
      routes: [route],
      events: [...ev.success(T0), ev.cooldown(T0, T0 + 5000)],
      now: T0 + 10,
    });
    expect(readinessExitCode(cooling)).toBe(3);
  });

  it('is 1 when the default route is invalid', () => {
    const snapshot = projectReadiness({
      routes: [route],
      problems: [{ route: 'main', message: 'broken' }],
      defaultRoute: 'main',
      now: T0,
    });
    expect(readinessExitCode(snapshot)).toBe(1);
  });
});
