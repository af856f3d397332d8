import { classifyOpenAIError } from './classify-http-status.js';
import { defineProvider } from './define-provider.js';
import type { ProviderDescriptorInput } from './provider-descriptor-schema.js';
import type { ModelInfo, ProviderDescriptor, RetryPolicy, TimeoutsMs } from './types.js';

/** Options of {@link openAICompatible}. */
export interface OpenAICompatibleOptions {
  /** Descriptor id, also usable as `use` in a route config. */
  id: string;
  displayName?: string;
  aliases?: string[];
  /** Base URL, e.g. `https://api.example.com/v1`; the chat path is appended. */
  baseURL: string;
  /** More named base URLs besides `default` (= `baseURL`). */
  endpoints?: Record<string, string>;
  /** Default `/chat/completions`. */
  chatPath?: string;
  /** Env var holding the key; a list is tried in order. Absent: the config must give `apiKey`. */
  apiKeyEnv?: string | string[];
  /** `false` for an endpoint without auth (a local server). Default true (bearer key). */
  requiresApiKey?: boolean;
  /** Header carrying the key, default `authorization` (as `Bearer <key>`). */
  apiKeyHeader?: string;
  /** Models served; ids as strings, or full catalog entries. */
  models?: Array<string | ModelInfo>;
  defaultModel?: string;
  /** In-flight cap; default 0 (no client-side cap, still counted). */
  maxConcurrency?: number;
  budgetScope?: 'instance' | 'model';
  timeouts?: Partial<TimeoutsMs>;
  retry?: Partial<RetryPolicy>;
  /** Extra request headers sent on every request. */
  headers?: Record<string, string>;
  /** Fields merged into every request body (provider-specific switches). */
  extraBody?: Record<string, unknown>;
  /** A classifier run before the OpenAI-style default. */
  classify?: ProviderDescriptor['classify'];
  mapFinishReason?: ProviderDescriptor['mapFinishReason'];
  transformRequest?: ProviderDescriptor['transformRequest'];
}

// A catalog entry for a model given by id only: the limits are unknown, so they are set wide
// enough never to block a request; readiness shows them as the placeholders they are.
const UNKNOWN_CONTEXT_WINDOW = 128_000;
const UNKNOWN_MAX_OUTPUT = 8_192;

function toModelInfo(model: string | ModelInfo): ModelInfo {
  if (typeof model !== 'string') return model;
  return {
    id: model,
    contextWindow: UNKNOWN_CONTEXT_WINDOW,
    maxOutputTokens: UNKNOWN_MAX_OUTPUT,
    capabilities: { streaming: true },
  };
}

/**
 * A descriptor for any OpenAI-compatible chat endpoint (vLLM, Ollama, LiteLLM, a hosted API), so a
 * route config can declare a provider without a package:
 * `providers: { local: { descriptor: openAICompatible({ id: 'local', baseURL: 'http://127.0.0.1:8000/v1' }) } }`.
 *
 * Errors are classified from OpenAI-style bodies, then by status; `extraBody` is merged into each
 * request through `transformRequest`; `headers` become the descriptor's `headers`. Models given by id get
 * placeholder limits (128k context, 8k output).
 *
 * @throws {ConfigError} when an option is invalid (path and fix named).
 */
export function openAICompatible(options: OpenAICompatibleOptions): ProviderDescriptor {
  const envVars =
    options.apiKeyEnv === undefined
      ? []
      : Array.isArray(options.apiKeyEnv)
        ? options.apiKeyEnv
        : [options.apiKeyEnv];
  const catalog = (options.models ?? []).map(toModelInfo);
  const custom = options.classify;
  const extraBody = options.extraBody;
  const userTransform = options.transformRequest;

  const input: ProviderDescriptorInput = {
    id: options.id,
    ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
    aliases: options.aliases ?? [],
    endpoints: { default: options.baseURL, ...options.endpoints },
    defaultEndpoint: 'default',
    ...(options.chatPath === undefined ? {} : { chatPath: options.chatPath }),
    auth: {
      type: options.requiresApiKey === false ? 'none' : 'bearer',
      envVars,
      ...(options.apiKeyHeader === undefined ? {} : { header: options.apiKeyHeader }),
    },
    catalog,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    ...(options.defaultModel !== undefined || catalog[0] !== undefined
      ? { defaultModel: options.defaultModel ?? catalog[0]?.id }
      : {}),
    maxConcurrency: options.maxConcurrency ?? 0,
    budgetScope: options.budgetScope ?? 'instance',
    timeouts: options.timeouts ?? {},
    retry: options.retry ?? {},
    classify: (classifyInput) => custom?.(classifyInput) ?? classifyOpenAIError(classifyInput),
    ...(options.mapFinishReason === undefined ? {} : { mapFinishReason: options.mapFinishReason }),
  };
  if (extraBody !== undefined || userTransform !== undefined) {
    input.transformRequest = (body, context) => {
      const merged = extraBody === undefined ? body : { ...body, ...extraBody };
      return userTransform ? userTransform(merged, context) : merged;
    };
  }
  return defineProvider(input);
}
