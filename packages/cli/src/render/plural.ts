/**
 * `count` and the noun, singular for exactly one: `plural(1, 'request')` is "1 request",
 * `plural(3, 'retry', 'retries')` is "3 retries".
 */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
