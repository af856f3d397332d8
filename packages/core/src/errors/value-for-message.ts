/**
 * A bad value as an error message shows it: strings quoted, numbers, BigInts and booleans as they are,
 * arrays, objects and functions by their kind only (they may hold secrets, and can be long).
 */
export function valueForMessage(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}
