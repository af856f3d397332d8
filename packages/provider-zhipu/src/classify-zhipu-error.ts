import type { Classification, ClassifyInput, SluiceErrorKind } from '@sluice/core';

/** The env vars the descriptor reads the key from, in order. */
export const ZHIPU_ENV_VARS = ['ZHIPU_API_KEY', 'ZAI_API_KEY', 'GLM_API_KEY'];

/** One row of the business-code table. */
interface CodeRule {
  kind: SluiceErrorKind;
  retryable: boolean;
  /** Short English name of the code, used in messages (the provider's own text may be Chinese). */
  title: string;
  cooldown?: boolean;
  preferFallback?: boolean;
  hint?: (message: string) => string | undefined;
}

const AUTH_HINT = () =>
  `Check the key in ${ZHIPU_ENV_VARS.join(', ')} (the first one set is used), or the route's apiKey.`;

const CATALOG_HINT = () =>
  'Use a model of the zhipu catalog that your plan includes (`sluice check` lists them); ' +
  'Coding Plan keys serve the glm-4.x and glm-5.x text models.';

const BILLING_HINT = () =>
  'A GLM Coding Plan key has no pay-as-you-go balance: use it on the `coding` endpoint ' +
  '(https://api.z.ai/api/coding/paas/v4 or the coding-cn one), not `general`.';

/** Keeps the reset time GLM puts in usage-cap messages, e.g. `2026-01-07 03:00:00`. */
function resetHint(message: string): string {
  const reset = /\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?/.exec(message)?.[0];
  const when = reset ? `it resets at ${reset}` : `the provider said: ${message || 'no reset time'}`;
  return `The plan's usage cap is reached; ${when}. Retrying before then fails the same way.`;
}

function rule(
  kind: SluiceErrorKind,
  retryable: boolean,
  title: string,
  extra: Partial<CodeRule> = {},
): CodeRule {
  return { kind, retryable, title, ...extra };
}

/**
 * GLM business codes, from the public tables at https://docs.z.ai/api-reference/api-code and
 * https://docs.bigmodel.cn/cn/api/api-code. The code is what counts: the message is Chinese on the
 * bigmodel.cn endpoints and English on api.z.ai, and its wording changes between releases (C05).
 */
const CODE_RULES: Record<string, CodeRule> = {
  '500': rule('server', true, 'internal error'),

  '1000': rule('auth', false, 'authentication failed', { hint: AUTH_HINT }),
  '1001': rule('auth', false, 'no Authorization header', { hint: AUTH_HINT }),
  '1002': rule('auth', false, 'invalid token', { hint: AUTH_HINT }),
  '1003': rule('auth', false, 'token expired', { hint: AUTH_HINT }),
  '1004': rule('auth', false, 'token verification failed', { hint: AUTH_HINT }),

  '1110': rule('auth', false, 'account inactive'),
  '1111': rule('auth', false, 'account does not exist'),
  '1112': rule('auth', false, 'account locked'),
  '1113': rule('billing', false, 'account in arrears', { hint: BILLING_HINT }),
  '1120': rule('server', true, 'account temporarily unreachable'),
  '1121': rule('auth', false, 'account locked for a violation'),

  '1210': rule('bad-request', false, 'invalid parameters'),
  '1211': rule('model-not-found', false, 'unknown model', { hint: CATALOG_HINT }),
  '1212': rule('bad-request', false, 'call method not supported by the model'),
  '1213': rule('bad-request', false, 'missing parameter'),
  '1214': rule('bad-request', false, 'invalid parameter'),
  '1215': rule('bad-request', false, 'conflicting parameters'),
  '1220': rule('auth', false, 'no access to this API'),
  '1234': rule('network', true, 'provider network error'),
  '1261': rule('context-length', false, 'prompt too long'),

  '1300': rule('content-filter', false, 'blocked by policy'),
  '1301': rule('content-filter', false, 'unsafe or sensitive content'),
  '1302': rule('rate-limit', true, 'concurrency limit', { cooldown: true }),
  '1303': rule('rate-limit', true, 'request frequency limit', { cooldown: true }),
  '1304': rule('quota', false, 'daily call limit', { hint: resetHint }),
  '1305': rule('overloaded', true, 'traffic limit (overloaded)'),
  '1308': rule('quota', false, 'usage cap', { hint: resetHint }),
  '1309': rule('billing', false, 'GLM Coding Plan expired'),
  '1310': rule('quota', false, 'weekly or monthly usage cap', { hint: resetHint }),
  '1311': rule('model-not-found', false, 'model not in the plan', { hint: CATALOG_HINT }),
  '1312': rule('overloaded', true, 'model overloaded', { preferFallback: true }),
  '1313': rule('quota', false, 'fair-use restriction'),
};

/** What an HTTP status means when the body carries no code this table knows. */
function kindOfStatus(status: number): SluiceErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'model-not-found';
  if (status === 408) return 'timeout';
  if (status === 413) return 'context-length';
  if (status === 429) return 'rate-limit';
  if (status === 503 || status === 529) return 'overloaded';
  if (status >= 500) return 'server';
  if (status >= 400) return 'bad-request';
  return 'unknown';
}

/** Reads `{ error: { code, message } }`; `code` may be a string or a number. */
function readErrorBody(body: unknown): { code?: string; message: string } {
  if (typeof body !== 'object' || body === null) return { message: '' };
  const outer = body as Record<string, unknown>;
  const error = (
    typeof outer.error === 'object' && outer.error !== null ? outer.error : outer
  ) as Record<string, unknown>;
  const rawCode = error.code;
  const code =
    typeof rawCode === 'number' && Number.isFinite(rawCode)
      ? String(rawCode)
      : typeof rawCode === 'string' && rawCode.trim() !== ''
        ? rawCode.trim()
        : undefined;
  const rawMessage = error.message ?? error.msg;
  return { code, message: typeof rawMessage === 'string' ? rawMessage : '' };
}

function parseBody(input: ClassifyInput): unknown {
  if (input.body !== undefined) return input.body;
  try {
    return JSON.parse(input.bodyText) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Classifies a failed GLM response by its business code, never by the wording of the message.
 * Unknown codes keep the code and fall back to what the HTTP status means; a body without a code
 * returns undefined so the core's status defaults apply unchanged.
 */
export function classifyZhipuError(input: ClassifyInput): Classification | undefined {
  const { code, message } = readErrorBody(parseBody(input));
  if (code === undefined) return undefined;

  const known = CODE_RULES[code];
  if (!known) {
    return {
      kind: kindOfStatus(input.status),
      providerCode: code,
      message: `Zhipu error ${code} (HTTP ${input.status})${message ? `: ${message}` : ''}`,
    };
  }

  const classification: Classification = {
    kind: known.kind,
    retryable: known.retryable,
    providerCode: code,
    message: `Zhipu error ${code} (${known.title})${message ? `: ${message}` : ''}`,
  };
  const hint = known.hint?.(message);
  if (hint) classification.hint = hint;
  if (known.cooldown) classification.cooldown = true;
  if (known.preferFallback) classification.preferFallback = true;
  return classification;
}

/** The business codes {@link classifyZhipuError} knows, for docs and table tests. */
export function knownZhipuErrorCodes(): string[] {
  return Object.keys(CODE_RULES);
}
