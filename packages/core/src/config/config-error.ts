import { SluiceError } from '../errors/sluice-error.js';

/** One problem found in a route config or provider descriptor. */
export interface ConfigIssue {
  /** Where: `providers.glm.maxConcurrency`, `routes.fast.fallbacks[0]`; `(root)` for the whole. */
  path: string;
  /** What is wrong, one sentence without the path. */
  message: string;
  /** The offending value as written, secrets masked; absent when there is none (missing field). */
  value?: string;
  /** What to write instead. */
  fix: string;
}

/** Options of {@link ConfigError}. */
export interface ConfigErrorOptions {
  issues: ConfigIssue[];
  /** What was being checked, e.g. `Sluice config` or `provider descriptor "zhipu"`. */
  subject?: string;
  /** The config file, when it came from one. */
  file?: string;
}

/** Formats issues one per line: `- path: message (got value). Fix: fix`. */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((issue) => {
      const got = issue.value === undefined ? '' : ` (got ${issue.value})`;
      return `  - ${issue.path}: ${issue.message}${got}. Fix: ${issue.fix}`;
    })
    .join('\n');
}

/**
 * A route config or provider descriptor that cannot be used. Carries EVERY problem found, not
 * just the first, each with its path, the bad value (secrets masked) and a fix; the message lists
 * them one per line. Kind `config`, phase `config`, never retryable.
 */
export class ConfigError extends SluiceError {
  readonly issues: ConfigIssue[];
  readonly file: string | undefined;

  constructor(options: ConfigErrorOptions) {
    const subject = options.subject ?? 'Sluice config';
    const where = options.file ? ` in ${options.file}` : '';
    const count = options.issues.length;
    super({
      kind: 'config',
      phase: 'config',
      retryable: false,
      message:
        `Invalid ${subject}${where}: ${count} problem${count === 1 ? '' : 's'}\n` +
        formatConfigIssues(options.issues),
    });
    this.name = 'ConfigError';
    this.issues = options.issues.map((issue) => ({ ...issue }));
    this.file = options.file;
  }

  /** True for a ConfigError from any copy of the package (checked by kind and issues). */
  static isConfigError(value: unknown): value is ConfigError {
    return (
      SluiceError.isInstance(value) &&
      value.kind === 'config' &&
      Array.isArray((value as { issues?: unknown }).issues)
    );
  }

  /** The base JSON plus the issues and file; values in issues are already masked. */
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), issues: this.issues, file: this.file };
  }
}
