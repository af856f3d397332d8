import type {
  ModelInfo,
  ProviderDescriptor,
  RetryPolicy,
  TimeoutsMs,
} from '../descriptor/types.js';

/**
 * A route after config resolution: everything a request needs, with precedence applied field by
 * field (route > provider instance > config-wide > descriptor > Sluice defaults).
 */
export interface ResolvedRoute {
  name: string;
  /** Provider instance key in the config (e.g. `glm`). */
  instance: string;
  provider: ProviderDescriptor;
  model: string;
  /** Undefined when the model is not in the provider's catalog. */
  modelInfo: ModelInfo | undefined;
  /** Full chat completions URL. */
  url: string;
  endpointName: string | undefined;
  /** The resolved key; never printed, never serialized. Undefined when missing. */
  apiKey: string | undefined;
  /** Where the key came from, for messages: `env:ZHIPU_API_KEY`, `literal`, or undefined. */
  apiKeySource: string | undefined;
  /** Env vars that were tried when no key was found. */
  apiKeyEnvTried: string[];
  headers: Record<string, string>;
  maxConcurrency: number;
  /** One budget per key; derived from instance + credential fingerprint (+ model when scoped so). */
  budgetKey: string;
  timeouts: TimeoutsMs;
  retry: RetryPolicy;
  /** Route names to try, in order, on a retryable failure before any output. */
  fallbacks: string[];
  providerOptions: Record<string, unknown>;
  /** Where the budget lives (always set by `resolveConfig`; optional for hand-built routes). */
  budget?: ResolvedBudget;
  /** The adaptive limit of the route's budget; undefined when the instance did not opt in. */
  adaptive?: ResolvedAdaptive;
}

/** The adaptive limit settings of a route after resolution (see `providers.<x>.adaptive`). */
export interface ResolvedAdaptive {
  min: number;
  /** `adaptive.max`, else the instance's `maxConcurrency`. */
  max: number;
  /** Undefined: the current limit. */
  increaseAfter: number | undefined;
  decreaseFactor: number;
}

/** The budget settings of a route after resolution. */
export interface ResolvedBudget {
  /** `memory`: in-process registry (shared with spawned workers/children); `redis`: machines. */
  backend: 'memory' | 'redis';
  /** Redis URL for the `redis` backend; may hold a password, never print it. */
  url: string | undefined;
  /** `instance`: one budget per instance + credential; `model`: per model too. */
  scope: 'instance' | 'model';
}
