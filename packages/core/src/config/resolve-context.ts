import type { ConfigIssue } from './config-error.js';
import { closestName } from './closest-name.js';
import { describeValue, formatPath } from './config-issues.js';
import type { IssuePath } from './config-issues.js';
import type { DescriptorIndex } from './descriptor-index.js';
import type { ResolveConfigOptions } from './resolve-config.js';

/** A config object read before (or despite) validation. */
export type Loose = Record<string, unknown>;

/** True for a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value` when it is a plain object, else an empty one. */
export function asRecord(value: unknown): Loose {
  return isRecord(value) ? value : {};
}

/** `value` when it is a string, else undefined. */
export function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Collects issues in one list so that every problem is reported at once. */
export class IssueList {
  readonly items: ConfigIssue[] = [];

  add(path: IssuePath, message: string, fix: string, value?: unknown): void {
    const shown = describeValue(value, path);
    this.items.push({
      path: formatPath(path),
      message,
      ...(shown === undefined ? {} : { value: shown }),
      fix,
    });
  }
}

/** `"a", "b"` or `(none)`, for messages that list the known names. */
export function listNames(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.map((name) => `"${name}"`).join(', ');
}

/** `; did you mean "x"?` when a known name is close, else an empty string. */
export function didYouMean(name: string, known: readonly string[]): string {
  const suggestion = closestName(name, known);
  return suggestion ? `; did you mean "${suggestion}"?` : '';
}

/** What the resolution steps share: the issue list, the descriptors, options and env. */
export interface Context {
  issues: IssueList;
  index: DescriptorIndex;
  options: ResolveConfigOptions;
  env: Readonly<Record<string, string | undefined>>;
  global: { timeouts: Loose; retry: Loose };
  /** Keys found while resolving (from env or a file too), masked in the issues' texts. */
  secrets: string[];
}
