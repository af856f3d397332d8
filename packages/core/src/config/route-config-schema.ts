import { z } from 'zod';
import {
  headersSchema,
  maxConcurrencySchema,
  retryPolicySchema,
  timeoutsSchema,
} from '../descriptor/provider-descriptor-schema.js';
import type { ProviderDescriptor, RetryPolicy, TimeoutsMs } from '../descriptor/types.js';

/** Where a provider instance's in-flight budget lives. */
export interface BudgetConfig {
  /** `memory` (this process and the workers/children it spawns, default) or `redis` (machines). */
  backend: 'memory' | 'redis';
  /** Redis URL, e.g. `redis://127.0.0.1:6379`; required for `redis`. */
  url?: string;
  /**
   * An explicit budget key. Instances with the same key share one budget (two instances on one
   * account). Default: `<instance>:<credential fingerprint>`.
   */
  key?: string;
  /** `instance` (default: one budget per instance + credential) or `model` (per model too). */
  scope?: 'instance' | 'model';
}

/**
 * An adaptive limit for a provider instance's budget: the limit grows by one after a run of clean
 * streams and halves on overload signals (429 / rate-limit codes, overloaded codes, headers
 * timeouts), staying within [`min`, `max`]. The budget starts at `maxConcurrency`.
 */
export interface AdaptiveConfig {
  /** The lowest limit, a whole number >= 1. Default 1. */
  min?: number;
  /** The highest limit, a whole number >= `min`. Default: the instance's `maxConcurrency`. */
  max?: number;
  /** Clean streams at a full budget before the limit grows by one. Default: the current limit. */
  increaseAfter?: number;
  /** Factor applied on an overload signal, between 0 and 1 (floored). Default 0.5. */
  decreaseFactor?: number;
}

/** One provider instance: a descriptor as used here, with its endpoint, key and overrides. */
export interface ProviderInstanceConfig {
  /**
   * The descriptor: a package name (`@sluice/provider-zhipu`) or a descriptor id or alias
   * (`zhipu`). Optional when `descriptor` is given.
   */
  use?: string;
  /** An inline descriptor, e.g. `openAICompatible({ ... })`, for a provider without a package. */
  descriptor?: ProviderDescriptor;
  /** A name from the descriptor's endpoints, or a base URL (the chat path is appended). */
  endpoint?: string;
  /** `env:NAME` reads the key from that env var; anything else is the key itself. */
  apiKey?: string;
  /** In-flight cap, a whole number >= 0 (0 = no client-side cap). Overrides the descriptor. */
  maxConcurrency?: number;
  timeouts?: Partial<TimeoutsMs>;
  retry?: Partial<RetryPolicy>;
  /** Extra request headers; override the descriptor's by name. */
  headers?: Record<string, string>;
  /** Provider-specific request fields for every route on this instance. */
  providerOptions?: Record<string, unknown>;
  /** Allow a plain `http://` endpoint that is not loopback. Default false. */
  allowInsecure?: boolean;
  budget?: BudgetConfig;
  /** Opt-in: let the budget find the provider's real limit below `maxConcurrency`. */
  adaptive?: AdaptiveConfig;
}

/** One named route: a provider instance + model, with overrides and fallbacks. */
export interface RouteDefinition {
  /** A key of `providers`. */
  provider: string;
  /** The model id to send (a catalog alias resolves to its id). Default: the descriptor's default model. */
  model?: string;
  /** Routes tried in order on a retryable failure before any output reached the consumer. */
  fallbacks?: string[];
  timeouts?: Partial<TimeoutsMs>;
  retry?: Partial<RetryPolicy>;
  /** Provider-specific request fields; override the instance's by name. */
  providerOptions?: Record<string, unknown>;
}

/**
 * A Sluice route config (`sluice.config.ts`, `.mjs`, `.json`, ...): provider instances, routes,
 * a default route and config-wide timeouts and retry.
 */
export interface RouteConfig {
  /** A JSON Schema URL for editors of `sluice.config.json`; ignored by Sluice. */
  $schema?: string;
  providers: Record<string, ProviderInstanceConfig>;
  routes: Record<string, RouteDefinition>;
  /** The route used when none is named. Default: a route named `default`, else the first. */
  defaultRoute?: string;
  /** Config-wide timeouts; below instance and route, above descriptors. */
  timeouts?: Partial<TimeoutsMs>;
  /** Config-wide retry policy; below instance and route, above descriptors. */
  retry?: Partial<RetryPolicy>;
}

const nameSchema = z
  .string()
  .min(1)
  .regex(/^[^:\s]+$/, { message: 'must not contain spaces or ":"' });

const apiKeySchema = z
  .string()
  .min(1)
  .refine((value) => !value.startsWith('env:') || /^env:[A-Za-z_][A-Za-z0-9_]*$/.test(value), {
    message: 'names no valid env var after "env:"',
  });

const budgetSchema = z
  .strictObject({
    backend: z.enum(['memory', 'redis']),
    url: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    scope: z.enum(['instance', 'model']).optional(),
  })
  .superRefine((value, context) => {
    if (value.backend === 'redis' && value.url === undefined) {
      context.addIssue({ code: 'custom', path: ['url'], message: 'is required for redis' });
    }
  });

const adaptiveSchema = z.strictObject({
  min: z.number().int().min(1).optional(),
  max: z.number().int().min(1).optional(),
  increaseAfter: z.number().int().min(1).optional(),
  decreaseFactor: z.number().gt(0).lt(1).optional(),
});

const isObject = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const providerInstanceSchema = z.strictObject({
  use: z.string().min(1).optional(),
  descriptor: z
    .custom<ProviderDescriptor>(isObject, {
      message: 'must be a provider descriptor, e.g. openAICompatible({ ... })',
    })
    .optional(),
  endpoint: z.string().min(1).optional(),
  apiKey: apiKeySchema.optional(),
  maxConcurrency: maxConcurrencySchema.optional(),
  timeouts: timeoutsSchema.optional(),
  retry: retryPolicySchema.optional(),
  headers: headersSchema.optional(),
  providerOptions: z.record(z.string(), z.unknown()).optional(),
  allowInsecure: z.boolean().optional(),
  budget: budgetSchema.optional(),
  adaptive: adaptiveSchema.optional(),
});

const routeSchema = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1).optional(),
  fallbacks: z.array(z.string().min(1)).optional(),
  timeouts: timeoutsSchema.optional(),
  retry: retryPolicySchema.optional(),
  providerOptions: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The zod schema of a {@link RouteConfig}. Unknown keys are rejected at every level (reported with
 * a did-you-mean by {@link resolveConfig}); cross-references (route -> instance, fallbacks,
 * defaultRoute, `use`) are checked by {@link resolveConfig}, which knows the descriptors.
 */
export const routeConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  providers: z.record(nameSchema, providerInstanceSchema),
  routes: z.record(nameSchema, routeSchema),
  defaultRoute: z.string().min(1).optional(),
  timeouts: timeoutsSchema.optional(),
  retry: retryPolicySchema.optional(),
}) satisfies z.ZodType<RouteConfig, unknown>;

// Compile-time proof that the schema and the documented interfaces agree both ways.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _schemaMatchesType: Exact<z.output<typeof routeConfigSchema>, RouteConfig> = true;
void _schemaMatchesType;
