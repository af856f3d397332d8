import type { Classification, ClassifyInput, SluiceErrorKind } from '@sluice/core';

/** The env vars the descriptor reads the key from, in order. */
export const ZHIPU_ENV_VARS = ['ZHIPU_API_KEY', 'ZAI_API_KEY', 'GLM_API_KEY'];

/**
 * What the classifier may know of the request besides the response. Core's `ClassifyInput` does
 * not carry it yet; when it is given (as `input.route`), the billing and auth hints name the
 * endpoint and the key source, and without it they are worded to hold for every endpoint and source.
 */
export interface ZhipuClassifyRoute {
  /** The endpoint name (`coding`, `general-cn`, ...), when the instance named one. */
  endpointName?: string | undefined;
  /** The full chat URL the request went to. */
  url?: string | undefined;
  /** Where the key came from: `literal`, `env:ZHIPU_API_KEY`, ...; never the key itself. */
  apiKeySource?: string | undefined;
}

/**
 * {@link ClassifyInput} whose request context may be partial: the router gives all of it
 * (core's `ClassifyRoute`), a direct caller what it knows.
 */
export type ZhipuClassifyInput = Omit<ClassifyInput, 'route'> & { route?: ZhipuClassifyRoute };

/** One row of the business-code table. */
interface CodeRule {
  kind: SluiceErrorKind;
  retryable: boolean;
  /** Short English name of the code, used in messages (the provider's own text may be Chinese). */
  title: string;
  cooldown?: boolean;
  preferFallback?: boolean;
  hint?: (message: string, route: ZhipuClassifyRoute | undefined) => string | undefined;
}

/** The hint for a refused key, naming where the key came from when that is known. */
function authHint(_message: string, route: ZhipuClassifyRoute | undefined): string {
  const source = route?.apiKeySource;
  if (source === 'literal') {
    return (
      "GLM refused the key written literally as the provider instance's apiKey: check that it " +
      "is a valid Zhipu key (copy it again from the console), or set apiKey: 'env:ZHIPU_API_KEY'."
    );
  }
  if (source !== undefined && source.startsWith('env:')) {
    return `GLM refused the key from ${source}: check that this variable holds a valid Zhipu key (copy it again from the console).`;
  }
  return (
    "GLM refused the key. It is the provider instance's apiKey when that is set (a literal key " +
    `or env:NAME), else the first of ${ZHIPU_ENV_VARS.join(', ')} that is set; check that one ` +
    '(`sluice check` shows which source a route uses).'
  );
}

const CATALOG_HINT = () =>
  'Use a model of the zhipu catalog that your plan includes (`sluice check` lists them); ' +
  'Coding Plan keys serve the glm-4.x and glm-5.x text models.';

/** `coding` or `general` when the route says which kind of endpoint the request went to. */
function endpointKind(route: ZhipuClassifyRoute | undefined): 'coding' | 'general' | undefined {
  const name = route?.endpointName;
  if (name === 'coding' || name === 'coding-cn') return 'coding';
  if (name === 'general' || name === 'general-cn') return 'general';
  const path = route?.url === undefined ? undefined : safePath(route.url);
  if (path === undefined) return undefined;
  if (/\/api\/coding\/paas\//.test(path)) return 'coding';
  if (/\/api\/paas\//.test(path)) return 'general';
  return undefined;
}

function safePath(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

const BILLING_ON_GENERAL =
  'On a `general` (pay-as-you-go) endpoint this is what a GLM Coding Plan key gets, as the plan ' +
  'has no pay-as-you-go balance: send it to the `coding` endpoint ' +
  '(https://api.z.ai/api/coding/paas/v4, or coding-cn), or top up the balance.';
const BILLING_ON_CODING =
  'The request already went to a `coding` endpoint, so the endpoint is not the cause: the ' +
  "account's Coding Plan does not cover it and there is no balance; check the plan and the " +
  'balance in the Z.ai / BigModel console.';

/** The 1113 (arrears) hint, for the endpoint the request went to when that is known. */
function billingHint(_message: string, route: ZhipuClassifyRoute | undefined): string {
  const kind = endpointKind(route);
  if (kind === 'general') return `The account has no balance (1113). ${BILLING_ON_GENERAL}`;
  if (kind === 'coding') return `The account is in arrears (1113). ${BILLING_ON_CODING}`;
  return (
    'The account is in arrears (1113). ' +
    BILLING_ON_GENERAL +
    ' On a `coding` endpoint the endpoint is not the cause: check the Coding Plan and the ' +
    'balance in the Z.ai / BigModel console.'
  );
}

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

  '1000': rule('auth', false, 'authentication failed', { hint: authHint }),
  '1001': rule('auth', false, 'no Authorization header', { hint: authHint }),
  '1002': rule('auth', false, 'invalid token', { hint: authHint }),
  '1003': rule('auth', false, 'token expired', { hint: authHint }),
  '1004': rule('auth', false, 'token verification failed', { hint: authHint }),

  '1110': rule('auth', false, 'account inactive'),
  '1111': rule('auth', false, 'account does not exist'),
  '1112': rule('auth', false, 'account locked'),
  '1113': rule('billing', false, 'account in arrears', { hint: billingHint }),
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

function parseBody(input: Pick<ClassifyInput, 'body' | 'bodyText'>): unknown {
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
export function classifyZhipuError(input: ZhipuClassifyInput): Classification | undefined {
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
  const hint = known.hint?.(message, input.route);
  if (hint) classification.hint = hint;
  if (known.cooldown) classification.cooldown = true;
  if (known.preferFallback) classification.preferFallback = true;
  return classification;
}

/** The business codes {@link classifyZhipuError} knows, for docs and table tests. */
export function knownZhipuErrorCodes(): string[] {
  return Object.keys(CODE_RULES);
}
