import {
  ConfigError,
  closestName,
  defineProvider,
  maskSecret,
  SluiceError,
  valueForMessage,
} from '@sluice/core';
import type { ConfigIssue, ProviderDescriptor, RetryPolicy, TimeoutsMs } from '@sluice/core';
import { classifyZhipuError, ZHIPU_ENV_VARS } from './classify-zhipu-error.js';
import { mapZhipuFinishReason } from './map-zhipu-finish-reason.js';
import { createSignedTokenCredential } from './signed-token.js';
import { transformZhipuRequest } from './transform-zhipu-request.js';
import { zhipuCatalog } from './zhipu-catalog.js';
import { ZHIPU_ENDPOINTS } from './zhipu-endpoints.js';
import type { ZhipuEndpointName } from './zhipu-endpoints.js';

/**
 * Default in-flight cap. The Coding Plan advertises 10 concurrent requests, but sustained SSE
 * streams stall beyond about 3: with a parent and three sub-agents streaming at once, the fourth
 * request waits 45 s with no response headers and then fails. 3 is the ceiling observed to hold.
 */
export const ZHIPU_DEFAULT_MAX_CONCURRENCY = 3;

/**
 * Default phase deadlines.
 *
 * - headers 45 s: past its real concurrency ceiling GLM accepts the connection and then sends no
 *   headers for 45 s and more. A request without headers by then is stalled: it is better retried
 *   (or sent to a fallback) than left holding its lease.
 * - idle 300 s: GLM thinks in silence, 90-120 s before or inside reasoning with no bytes at all.
 *   300 s is 2.5 times the longest pause seen, so a thinking phase never trips it while a dead
 *   stream is still noticed within minutes.
 * - total 30 min: long agentic answers with 128K output tokens stream for many minutes.
 */
export const ZHIPU_DEFAULT_TIMEOUTS: Partial<TimeoutsMs> = {
  headersMs: 45_000,
  idleMs: 300_000,
  totalMs: 1_800_000,
};

/**
 * Default retry policy: the core's kinds plus `provider`, since GLM reports a backend failure
 * behind HTTP 200 as `finish_reason: "network_error"` (classified as a retryable provider error).
 * Only errors marked retryable are retried, and never after output reached the consumer. The
 * backoff cap is 20 s: 1302 and 1305 clear within seconds.
 */
export const ZHIPU_DEFAULT_RETRY: Partial<RetryPolicy> = {
  maxAttempts: 4,
  baseDelayMs: 1_000,
  maxDelayMs: 20_000,
  retryOn: ['rate-limit', 'overloaded', 'timeout', 'network', 'server', 'provider'],
};

/** Options of {@link createZhipuProvider}. Everything is optional. */
export interface ZhipuProviderOptions {
  /**
   * Send a signed HS256 token instead of the raw key (keys of the form `id.secret`). Off by
   * default: both api.z.ai and open.bigmodel.cn accept the raw key as a bearer token.
   */
  signedToken?: boolean;
  /** Lifetime of each signed token in ms. Default 30 min. */
  signedTokenTtlMs?: number;
  /** In-flight cap; default {@link ZHIPU_DEFAULT_MAX_CONCURRENCY}. */
  maxConcurrency?: number;
  /** Endpoint used when an instance names none; default `coding`. */
  defaultEndpoint?: ZhipuEndpointName | (string & {});
  /** Extra or replaced endpoints, merged over {@link ZHIPU_ENDPOINTS}. */
  endpoints?: Record<string, string>;
  /** Model used when a route names none; default `glm-4.6`. */
  defaultModel?: string;
  /** Merged over {@link ZHIPU_DEFAULT_TIMEOUTS}. */
  timeouts?: Partial<TimeoutsMs>;
  /** Merged over {@link ZHIPU_DEFAULT_RETRY}. */
  retry?: Partial<RetryPolicy>;
}

/** Every option of {@link createZhipuProvider}, in the order the README lists them. */
const OPTION_NAMES = Object.keys({
  signedToken: true,
  signedTokenTtlMs: true,
  maxConcurrency: true,
  defaultEndpoint: true,
  endpoints: true,
  defaultModel: true,
  timeouts: true,
  retry: true,
} satisfies Record<keyof ZhipuProviderOptions, true>);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Every problem of the options the descriptor itself does not check (`maxConcurrency`, the
 * fields of `timeouts` and `retry` are checked by `defineProvider`).
 */
function optionIssues(options: Record<string, unknown>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string, value: unknown, fix: string) =>
    issues.push({
      path,
      message,
      ...(value === undefined ? {} : { value: valueForMessage(value) }),
      fix,
    });

  for (const key of Object.keys(options)) {
    if (OPTION_NAMES.includes(key)) continue;
    add(
      key,
      `unknown option${didYouMean(key, OPTION_NAMES)}`,
      undefined,
      `use one of ${OPTION_NAMES.join(', ')}, or remove it`,
    );
  }
  const { signedToken, signedTokenTtlMs, defaultEndpoint, endpoints, defaultModel } = options;
  if (signedToken !== undefined && typeof signedToken !== 'boolean') {
    add(
      'signedToken',
      'must be true or false',
      signedToken,
      'write signedToken: true (or leave it out for the raw key)',
    );
  }
  if (
    signedTokenTtlMs !== undefined &&
    (typeof signedTokenTtlMs !== 'number' ||
      !Number.isSafeInteger(signedTokenTtlMs) ||
      signedTokenTtlMs < 1)
  ) {
    add(
      'signedTokenTtlMs',
      'must be a whole number of ms >= 1',
      signedTokenTtlMs,
      'write e.g. signedTokenTtlMs: 1_800_000 (30 min, the default), or leave it out',
    );
  }
  if (endpoints !== undefined) {
    if (!isPlainObject(endpoints)) {
      add(
        'endpoints',
        'must be an object of endpoint names to base URLs',
        endpoints,
        "write e.g. endpoints: { proxy: 'https://glm.example.com/api/paas/v4' }",
      );
    } else {
      for (const [name, url] of Object.entries(endpoints)) {
        if (!isHttpUrl(url)) {
          add(
            `endpoints.${name}`,
            'must be an http(s) base URL',
            // A mistyped URL may hold a key or a password: show no more than its start.
            typeof url === 'string' ? maskSecret(url) : url,
            "write e.g. 'https://glm.example.com/api/paas/v4'",
          );
        }
      }
    }
  }
  if (
    defaultEndpoint !== undefined &&
    (typeof defaultEndpoint !== 'string' || defaultEndpoint === '')
  ) {
    add(
      'defaultEndpoint',
      'must be an endpoint name',
      defaultEndpoint,
      `write one of ${Object.keys(ZHIPU_ENDPOINTS).join(', ')}`,
    );
  }
  if (
    defaultModel !== undefined &&
    (typeof defaultModel !== 'string' || defaultModel.trim() === '')
  ) {
    add('defaultModel', 'must be a model id', defaultModel, "write e.g. defaultModel: 'glm-4.6'");
  }
  for (const field of ['timeouts', 'retry'] as const) {
    if (options[field] !== undefined && !isPlainObject(options[field])) {
      add(
        field,
        'must be an object',
        options[field],
        field === 'timeouts'
          ? 'write e.g. timeouts: { idleMs: 600_000 }'
          : 'write e.g. retry: { maxAttempts: 2 }',
      );
    }
  }
  return issues;
}

/**
 * Builds the Zhipu GLM descriptor. With no options it is the package's default export.
 *
 * @throws ConfigError naming every option that is not accepted: an unknown key (with a
 *   did-you-mean), `signedToken` that is not a boolean, `signedTokenTtlMs` that is not a whole
 *   number of ms >= 1, an endpoint that is not an http(s) URL, a `defaultEndpoint` that names no
 *   endpoint; and (from `defineProvider`) a `maxConcurrency` of -1 or 1.5 or a bad timeout.
 */
export function createZhipuProvider(options: ZhipuProviderOptions = {}): ProviderDescriptor {
  const raw: unknown = options;
  if (!isPlainObject(raw)) {
    throw new ConfigError({
      subject: 'createZhipuProvider options',
      issues: [
        {
          path: '(root)',
          message: 'must be an object',
          value: valueForMessage(raw),
          fix: 'call createZhipuProvider() or createZhipuProvider({ signedToken: true })',
        },
      ],
    });
  }
  const issues = optionIssues(raw);
  const endpoints: Record<string, string> = {
    ...ZHIPU_ENDPOINTS,
    ...(isPlainObject(options.endpoints) ? options.endpoints : {}),
  };
  const defaultEndpoint = options.defaultEndpoint ?? 'coding';
  if (
    typeof defaultEndpoint === 'string' &&
    defaultEndpoint !== '' &&
    !(defaultEndpoint in endpoints)
  ) {
    const names = Object.keys(endpoints);
    issues.push({
      path: 'defaultEndpoint',
      message: `names no endpoint${didYouMean(defaultEndpoint, names)}`,
      value: valueForMessage(defaultEndpoint),
      fix: `write one of ${names.join(', ')}, or add it to endpoints`,
    });
  }
  if (issues.length > 0) {
    throw new ConfigError({ subject: 'createZhipuProvider options', issues });
  }

  return defineProvider({
    id: 'zhipu',
    displayName: 'Zhipu GLM (Z.ai / BigModel)',
    aliases: ['zai', 'z.ai', 'glm', 'zhipuai', 'bigmodel'],
    wireFormat: 'openai-chat',
    endpoints,
    defaultEndpoint,
    chatPath: '/chat/completions',
    auth: {
      type: 'bearer',
      envVars: [...ZHIPU_ENV_VARS],
      credential: zhipuCredential(options),
    },
    catalog: zhipuCatalog,
    defaultModel: options.defaultModel ?? 'glm-4.6',
    maxConcurrency: options.maxConcurrency ?? ZHIPU_DEFAULT_MAX_CONCURRENCY,
    budgetScope: 'instance',
    timeouts: { ...ZHIPU_DEFAULT_TIMEOUTS, ...options.timeouts },
    retry: { ...ZHIPU_DEFAULT_RETRY, ...options.retry },
    classify: classifyZhipuError,
    mapFinishReason: mapZhipuFinishReason,
    transformRequest: transformZhipuRequest,
  });
}

/** The Zhipu GLM descriptor with its defaults; what `use: '@sluice/provider-zhipu'` loads. */
export const provider: ProviderDescriptor = createZhipuProvider();

/**
 * The bearer credential: the key as is, or a signed token for `id.secret` keys when signed-token
 * mode is on, either in code (`createZhipuProvider({ signedToken: true })`) or in route config
 * (`providers.<x>.providerOptions.signedToken: true`).
 */
function zhipuCredential(options: ZhipuProviderOptions) {
  const signed = createSignedTokenCredential({ ttlMs: options.signedTokenTtlMs });
  return function zhipuBearer(
    apiKey: string,
    nowMs: number,
    context?: { providerOptions: Record<string, unknown> },
  ): string {
    const fromConfig = context?.providerOptions.signedToken;
    if (
      options.signedToken === undefined &&
      fromConfig !== undefined &&
      typeof fromConfig !== 'boolean'
    ) {
      throw new SluiceError({
        kind: 'config',
        phase: 'config',
        providerId: 'zhipu',
        retryable: false,
        message: `providerOptions.signedToken must be true or false, got ${valueForMessage(fromConfig)}.`,
        hint: 'Write providers.<instance>.providerOptions.signedToken: true, or leave it out to send the raw key.',
      });
    }
    const wanted = options.signedToken ?? fromConfig === true;
    return wanted ? signed(apiKey, nowMs) : apiKey;
  };
}

/** `; did you mean "x"?` when a candidate is close to `name`, else an empty string. */
function didYouMean(name: string, candidates: Iterable<string>): string {
  const suggestion = closestName(name, candidates);
  return suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
}
