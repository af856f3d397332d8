/**
 * The kinds of failure Sluice tells apart. A provider classifier maps its own status codes and
 * error bodies onto these; retry, fallback and cooldown decisions read only the kind.
 */
export type SluiceErrorKind =
  | 'rate-limit'
  | 'overloaded'
  | 'timeout'
  | 'network'
  | 'server'
  | 'auth'
  | 'bad-request'
  | 'billing'
  | 'quota'
  | 'content-filter'
  | 'context-length'
  | 'model-not-found'
  | 'provider'
  | 'truncated'
  | 'mid-stream'
  | 'aborted'
  | 'queue-timeout'
  | 'budget-unavailable'
  | 'config'
  | 'unknown';

/** Where in the life of a request a failure happened. */
export type RequestPhase =
  'config' | 'queue' | 'connect' | 'headers' | 'first-token' | 'stream' | 'total';

/** Kinds that are worth another attempt by default; auth, bad request and billing never are. */
export const RETRYABLE_KINDS: ReadonlySet<SluiceErrorKind> = new Set<SluiceErrorKind>([
  'rate-limit',
  'overloaded',
  'timeout',
  'network',
  'server',
]);

/** Options of {@link SluiceError}; only `kind` and `message` are required. */
export interface SluiceErrorOptions {
  kind: SluiceErrorKind;
  message: string;
  /** Defaults to whether `kind` is in {@link RETRYABLE_KINDS}. */
  retryable?: boolean;
  phase?: RequestPhase;
  route?: string;
  providerId?: string;
  status?: number;
  /** The provider's own error code, as a string (`"1302"`), whatever type the body used. */
  providerCode?: string;
  /** A wait the server asked for, in ms. */
  retryAfterMs?: number;
  /** What the user can do about it, one sentence. */
  hint?: string;
  cause?: unknown;
}

const MARKER = Symbol.for('@sluice/core/error');

const CODES: Record<SluiceErrorKind, string> = {
  'rate-limit': 'SLUICE_RATE_LIMIT',
  overloaded: 'SLUICE_OVERLOADED',
  timeout: 'SLUICE_TIMEOUT',
  network: 'SLUICE_NETWORK',
  server: 'SLUICE_SERVER',
  auth: 'SLUICE_AUTH',
  'bad-request': 'SLUICE_BAD_REQUEST',
  billing: 'SLUICE_BILLING',
  quota: 'SLUICE_QUOTA',
  'content-filter': 'SLUICE_CONTENT_FILTER',
  'context-length': 'SLUICE_CONTEXT_LENGTH',
  'model-not-found': 'SLUICE_MODEL_NOT_FOUND',
  provider: 'SLUICE_PROVIDER',
  truncated: 'SLUICE_TRUNCATED',
  'mid-stream': 'SLUICE_MID_STREAM',
  aborted: 'SLUICE_ABORTED',
  'queue-timeout': 'SLUICE_QUEUE_TIMEOUT',
  'budget-unavailable': 'SLUICE_BUDGET_UNAVAILABLE',
  config: 'SLUICE_CONFIG',
  unknown: 'SLUICE_UNKNOWN',
};

/**
 * The one error type Sluice throws. `code` is stable (`SLUICE_RATE_LIMIT`, ...), `retryable` says
 * whether another attempt may succeed, `phase` where the request was when it failed.
 *
 * Use {@link SluiceError.isInstance} rather than `instanceof`: it holds across duplicate copies of
 * the package in one process (two versions installed side by side, or ESM and CJS builds).
 */
export class SluiceError extends Error {
  readonly code: string;
  readonly kind: SluiceErrorKind;
  readonly retryable: boolean;
  readonly phase: RequestPhase | undefined;
  readonly route: string | undefined;
  readonly providerId: string | undefined;
  readonly status: number | undefined;
  readonly providerCode: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly hint: string | undefined;
  readonly [MARKER] = true;

  constructor(options: SluiceErrorOptions) {
    super(options.hint ? `${options.message} ${options.hint}` : options.message, {
      cause: options.cause,
    });
    this.name = 'SluiceError';
    this.code = CODES[options.kind];
    this.kind = options.kind;
    this.retryable = options.retryable ?? RETRYABLE_KINDS.has(options.kind);
    this.phase = options.phase;
    this.route = options.route;
    this.providerId = options.providerId;
    this.status = options.status;
    this.providerCode = options.providerCode;
    this.retryAfterMs = options.retryAfterMs;
    this.hint = options.hint;
  }

  /** True for any SluiceError, from this copy of the package or another. */
  static isInstance(value: unknown): value is SluiceError {
    return typeof value === 'object' && value !== null && MARKER in value;
  }

  /** A plain object for logs and JSON output; carries no cause chain and no secrets. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      kind: this.kind,
      message: this.message,
      retryable: this.retryable,
      phase: this.phase,
      route: this.route,
      providerId: this.providerId,
      status: this.status,
      providerCode: this.providerCode,
      retryAfterMs: this.retryAfterMs,
    };
  }
}

/** The stable code of a kind, e.g. `SLUICE_QUEUE_TIMEOUT` for `queue-timeout`. */
export function errorCodeOf(kind: SluiceErrorKind): string {
  return CODES[kind];
}
