import { RETRYABLE_KINDS } from '../errors/sluice-error.js';
import type { SluiceErrorKind } from '../errors/sluice-error.js';
import type { Classification, ClassifyInput } from './types.js';

const STATUS_KINDS: Record<number, SluiceErrorKind> = {
  400: 'bad-request',
  401: 'auth',
  402: 'billing',
  403: 'auth',
  404: 'model-not-found',
  408: 'timeout',
  413: 'context-length',
  422: 'bad-request',
  429: 'rate-limit',
  500: 'server',
  502: 'server',
  503: 'overloaded',
  504: 'server',
  529: 'overloaded',
};

/**
 * The default verdict for an HTTP status, used when a descriptor has no classifier or its
 * classifier returns undefined: 401/403 auth, 400/422 bad-request, 402 billing, 404
 * model-not-found, 408 timeout, 413 context-length, 429 rate-limit (sets the shared cooldown),
 * 500/502/504 server, 503/529 overloaded. Other 5xx are `server`, other 4xx `bad-request`, and
 * anything below 400 (an error frame inside a 200 body) `provider`. `retryable` follows
 * {@link RETRYABLE_KINDS}.
 */
export function classifyHttpStatus(status: number): Classification {
  const kind: SluiceErrorKind =
    STATUS_KINDS[status] ?? (status >= 500 ? 'server' : status >= 400 ? 'bad-request' : 'provider');
  return {
    kind,
    retryable: RETRYABLE_KINDS.has(kind),
    ...(kind === 'rate-limit' ? { cooldown: true } : {}),
  };
}

// OpenAI error codes and types that say more than the status. A 429 `insufficient_quota` is the
// classic trap: retrying it only burns attempts, the account is out of credit.
const OPENAI_CODE_KINDS: Record<string, SluiceErrorKind> = {
  insufficient_quota: 'quota',
  billing_hard_limit_reached: 'billing',
  context_length_exceeded: 'context-length',
  string_above_max_length: 'context-length',
  model_not_found: 'model-not-found',
  invalid_api_key: 'auth',
  rate_limit_exceeded: 'rate-limit',
  server_error: 'server',
  content_filter: 'content-filter',
  content_policy_violation: 'content-filter',
};

function errorObject(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error === 'object' && error !== null) return error as Record<string, unknown>;
  return body as Record<string, unknown>;
}

function asCode(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * A classifier for OpenAI-style error bodies (`{ error: { message, type, code } }`): the `code`
 * or `type` decides when it is a known one (`insufficient_quota` -> quota, not retried;
 * `context_length_exceeded` -> context-length, ...), else the status via
 * {@link classifyHttpStatus}. The provider's code is kept as a string, the message as given.
 */
export function classifyOpenAIError(input: ClassifyInput): Classification {
  const error = errorObject(input.body);
  const code = asCode(error?.code);
  const type = asCode(error?.type);
  const message = typeof error?.message === 'string' ? error.message : undefined;
  const byBody = (code && OPENAI_CODE_KINDS[code]) || (type && OPENAI_CODE_KINDS[type]);
  const base = classifyHttpStatus(input.status);
  const kind = byBody || base.kind;
  return {
    kind,
    retryable: RETRYABLE_KINDS.has(kind),
    ...(kind === 'rate-limit' ? { cooldown: true } : {}),
    ...(code ? { providerCode: code } : {}),
    ...(message ? { message } : {}),
  };
}
