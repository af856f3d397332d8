import { SluiceError } from '@sluice/core';
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

/** A value as an error message shows it: strings quoted, objects by their kind only. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
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
      message: `${where}: ${name} must be ${rule.accepts}, got ${describeValue(value)}.`,
      hint: `Pass e.g. ${rule.example}, or leave it out.`,
    });
  }
}
