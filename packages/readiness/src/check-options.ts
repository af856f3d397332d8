import { SluiceError, valueForMessage } from '@sluice/core';
import { z } from 'zod';

/** The longest delay Node's timers honour; a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A rule for one option: its schema, what it accepts (in words) and an example of a good value. */
export interface OptionRule {
  schema: z.ZodType;
  accepts: string;
  example: string;
}

/** A whole number of ms in `[min, MAX_TIMER_MS]`. */
export function wholeMs(min: number, example: string, why = ''): OptionRule {
  return {
    schema: z.number().int().min(min).max(MAX_TIMER_MS),
    accepts: `a whole number of ms from ${min} to ${MAX_TIMER_MS}${why}`,
    example,
  };
}

/**
 * Checks the options of `where` that `rules` names (each is optional: undefined is always fine).
 * With `strict`, a key `rules` does not name is rejected too.
 *
 * @throws SluiceError kind `config` naming the first option that is not accepted, what it
 *   accepts, the value received and a value that works.
 */
export function checkOptions(
  where: string,
  options: object,
  rules: Record<string, OptionRule>,
  strict = false,
): void {
  if (strict) {
    const unknown = Object.keys(options).filter((key) => !Object.hasOwn(rules, key));
    if (unknown.length > 0) {
      throw new SluiceError({
        kind: 'config',
        phase: 'config',
        message: `${where}: unknown option ${unknown.map((key) => `"${key}"`).join(', ')}.`,
        hint: `Its options are ${Object.keys(rules).join(', ')}.`,
      });
    }
  }
  const record = options as Record<string, unknown>;
  for (const [name, rule] of Object.entries(rules)) {
    const value = record[name];
    if (value === undefined || rule.schema.safeParse(value).success) continue;
    throw new SluiceError({
      kind: 'config',
      phase: 'config',
      message: `${where}: ${name} must be ${rule.accepts}, got ${valueForMessage(value)}.`,
      hint: `Pass e.g. ${rule.example}, or leave it out.`,
    });
  }
}

/** The projection options both `projectReadiness` and `createReadinessTracker` take. */
export const PROJECTION_RULES: Record<string, OptionRule> = {
  historyMs: wholeMs(1, '{ historyMs: 300_000 } (the default)'),
  sampleIntervalMs: wholeMs(1, '{ sampleIntervalMs: 1000 } (the default)'),
  recentWindowMs: wholeMs(0, '{ recentWindowMs: 60_000 } (the default)'),
  queueSaturation: {
    schema: z.number().positive().finite(),
    accepts: 'a number > 0 (queued per slot of the limit)',
    example: '{ queueSaturation: 1 } (the default)',
  },
  failingStreak: {
    schema: z.number().int().min(1),
    accepts: 'a whole number >= 1',
    example: '{ failingStreak: 3 } (the default)',
  },
};

/** `windowSize` of the tracker and the outcome log. */
export const WINDOW_SIZE_RULE: OptionRule = {
  schema: z.number().int().min(1),
  accepts: 'a whole number >= 1 (samples per window)',
  example: '{ windowSize: 200 } (the default)',
};

const ROUTES_FIX =
  'Pass resolved routes (routes: router.routes()) or a config with its descriptors ' +
  '(routes: await loadConfig(), or routes: { config, providers: [zhipu] }).';

/**
 * Checks the `routes` of a projection: resolved routes, or an object with a `config`.
 *
 * @throws SluiceError kind `config` naming `routes` (or the element that is no route) and the fix.
 */
export function checkRoutesSource(where: string, routes: unknown): void {
  const fail = (message: string): never => {
    throw new SluiceError({
      kind: 'config',
      phase: 'config',
      message: `${where}: ${message}`,
      hint: ROUTES_FIX,
    });
  };
  if (routes === undefined) fail('routes is missing.');
  if (Array.isArray(routes)) {
    const bad = routes.findIndex((route) => {
      const candidate = route as { name?: unknown; provider?: unknown } | null;
      return (
        typeof candidate !== 'object' ||
        candidate === null ||
        typeof candidate.name !== 'string' ||
        typeof candidate.provider !== 'object'
      );
    });
    if (bad >= 0)
      fail(`routes[${bad}] must be a resolved route, got ${valueForMessage(routes[bad])}.`);
    return;
  }
  if (typeof routes !== 'object' || routes === null || !('config' in routes)) {
    fail(
      `routes must be resolved routes or { config, providers }, got ${valueForMessage(routes)}.`,
    );
  }
}
