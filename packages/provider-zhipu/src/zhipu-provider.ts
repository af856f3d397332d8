import { defineProvider } from '@sluice/core';
import type { ProviderDescriptor, RetryPolicy, TimeoutsMs } from '@sluice/core';
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

/**
 * Builds the Zhipu GLM descriptor. With no options it is the package's default export.
 *
 * @throws TypeError when `defaultEndpoint` names no endpoint.
 * @throws ConfigError (from `defineProvider`) when an override is invalid, e.g. a
 *   `maxConcurrency` of -1 or 1.5, naming the field.
 */
export function createZhipuProvider(options: ZhipuProviderOptions = {}): ProviderDescriptor {
  const endpoints: Record<string, string> = { ...ZHIPU_ENDPOINTS, ...options.endpoints };
  const defaultEndpoint = options.defaultEndpoint ?? 'coding';
  if (!(defaultEndpoint in endpoints)) {
    throw new TypeError(
      `zhipu: defaultEndpoint "${defaultEndpoint}" is not one of ${Object.keys(endpoints).join(', ')}.`,
    );
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
    const wanted = options.signedToken ?? context?.providerOptions.signedToken === true;
    return wanted ? signed(apiKey, nowMs) : apiKey;
  };
}
