import type { BudgetRegistry } from '../budget/types.js';
import type { ResolveConfigOptions } from '../config/resolve-config.js';
import type { ResolvedRoute } from '../config/resolved-route.js';
import type { ProviderDescriptor } from '../descriptor/types.js';
import type { ChatEvent, ChatResult } from '../events/chat-events.js';
import type { ChatRequest } from '../events/chat-request.js';
import type { Middleware, SessionRef } from '../pipeline/types.js';
import type { BudgetBackendProvider } from './route-budgets.js';
import type { SluiceEvent } from './router-events.js';

/** Options of one `router.chat()` call. */
export interface ChatOptions {
  /** Route name; default: the config's default route. */
  route?: string;
  session?: SessionRef;
  signal?: AbortSignal;
  /** Overrides the session's priority for this request. Higher goes first. */
  priority?: number;
}

/**
 * A streamed answer: iterate it for {@link ChatEvent}s, or await `text()` / `result()`.
 * Iterate once; `text()` and `result()` consume the stream if nobody iterates it.
 */
export interface ChatStream extends AsyncIterable<ChatEvent> {
  text(): Promise<string>;
  result(): Promise<ChatResult>;
  /** Stops the request and frees its lease; the iterator then ends with an `aborted` error. */
  cancel(reason?: unknown): void;
}

/** What `createRouter` takes. */
export interface RouterOptions {
  /** A route config (validated on creation) as from `defineConfig()` or `loadConfig()`. */
  config: unknown;
  /** Descriptors that `use` may name, besides those `loadConfig()` imported. */
  providers?: ProviderDescriptor[];
  /** Where budgets live; default: the process-wide in-memory registry. */
  budgets?: BudgetRegistry;
  /**
   * Budget backends for routes whose config says `budget: { backend: 'redis', url }` (or another
   * non-memory backend), by backend name. Core ships none of them: pass
   * `budgetBackends: redisBackends()` from `@sluice/fleet-adapter/redis`. One registry per
   * backend object serves every route on it; `memory` routes keep using `budgets`.
   */
  budgetBackends?: Record<string, BudgetBackendProvider>;
  /** Injectable fetch; default global `fetch` with a per-provider undici Agent dispatcher. */
  fetch?: typeof fetch;
  /** Extra middleware, run inside telemetry and outside fallback. */
  middleware?: Middleware[];
  /** Environment used to resolve `env:` keys; default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * Descriptors by the package name `use` gives, packages that failed to load, and the config
   * file: as `loadConfig()` returns them, so `createRouter(await loadConfig())` works.
   */
  packages?: ResolveConfigOptions['packages'];
  packageFailures?: ResolveConfigOptions['packageFailures'];
  file?: string;
}

/** Options of `router.fetch()`. */
export interface RouterFetchOptions {
  session?: SessionRef;
  priority?: number;
}

export interface Router {
  chat(request: ChatRequest, options?: ChatOptions): ChatStream;
  /**
   * A standard fetch for third-party SDKs that holds a lease of `instance`'s budget from send
   * until the response body ends, fails or is cancelled.
   */
  fetch(instance: string, options?: RouterFetchOptions): typeof fetch;
  /** The resolved route of a name (default route when omitted); throws a config error if unknown. */
  route(name?: string): ResolvedRoute;
  routes(): ResolvedRoute[];
  readonly budgets: BudgetRegistry;
  /** Subscribes to telemetry; returns the unsubscribe function. */
  subscribe(listener: (event: SluiceEvent) => void): () => void;
  /** Closes dispatchers. In-flight streams are cancelled. */
  close(): Promise<void>;
}
