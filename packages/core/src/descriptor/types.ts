import type { SluiceErrorKind } from '../errors/sluice-error.js';
import type { FinishReason } from '../events/chat-events.js';

/** Phase deadlines in ms. 0 turns a deadline off. */
export interface TimeoutsMs {
  /** Longest wait for a lease. Default 0 (wait as long as it takes; abort still works). */
  queueMs: number;
  /** From send to response headers. Default 45 000. */
  headersMs: number;
  /** From headers to the first content or reasoning delta. Default 0 (off). */
  firstTokenMs: number;
  /** Longest silence between two events of the body. Default 300 000. */
  idleMs: number;
  /** The whole attempt, send to end of body. Default 1 800 000 (30 min). */
  totalMs: number;
}

/** When and how often to try again. */
export interface RetryPolicy {
  /** Attempts in all, the first included. Default 4. */
  maxAttempts: number;
  /** Backoff base in ms; attempt n waits random(0, min(maxDelayMs, baseDelayMs * 2^n)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server-requested wait above this is clamped to it. Default 60 000. */
  maxServerWaitMs: number;
  /** The kinds retried. Default rate-limit, overloaded, timeout, network, server. */
  retryOn: SluiceErrorKind[];
}

/** Capabilities of one catalog model. */
export interface ModelCapabilities {
  reasoning?: boolean;
  tools?: boolean;
  vision?: boolean;
  streaming?: boolean;
}

/** One model a provider serves. */
export interface ModelInfo {
  id: string;
  aliases?: string[];
  displayName?: string;
  contextWindow: number;
  maxOutputTokens: number;
  capabilities: ModelCapabilities;
  /** Plans that include the model, e.g. `coding`. Empty or absent: every plan. */
  plans?: string[];
}

/** What a classifier gets for a failed response (HTTP error, or an error frame in the body). */
export interface ClassifyInput {
  status: number;
  headers: Headers;
  /** The body parsed as JSON when it was JSON, else undefined. */
  body: unknown;
  bodyText: string;
  /**
   * Where the request went, for hints that depend on it (which endpoint, where the key came
   * from); never the key itself. Set by the router; a classifier called elsewhere may not get it.
   */
  route?: ClassifyRoute;
}

/** The request context a classifier is given: see {@link ClassifyInput.route}. */
export interface ClassifyRoute {
  /** The route's name. */
  name: string;
  /** The descriptor endpoint the instance uses (`coding`), undefined for a URL of its own. */
  endpointName: string | undefined;
  /** The chat URL, with user info and secret-looking query values masked. */
  url: string;
  /** Where the key came from: `literal`, `env:NAME`, or undefined without one. */
  apiKeySource: string | undefined;
}

/** A classifier's verdict. Anything left out falls back to the status-code defaults. */
export interface Classification {
  kind: SluiceErrorKind;
  retryable?: boolean;
  providerCode?: string;
  message?: string;
  hint?: string;
  /** Set the provider's shared cooldown (rate-limit class). */
  cooldown?: boolean;
  /** Try the route's fallback before retrying the same route. */
  preferFallback?: boolean;
  retryAfterMs?: number;
}

/** What a provider's finish reason means, when it is not a plain OpenAI one. */
export type FinishMapping =
  | { reason: FinishReason }
  | { error: { kind: SluiceErrorKind; message: string; retryable: boolean } };

/** Context of a request transform. */
export interface TransformContext {
  model: string;
  providerOptions: Record<string, unknown>;
}

/** What a credential hook may read besides the key: the route's provider options. */
export interface CredentialContext {
  providerOptions: Record<string, unknown>;
}

/** Auth of a provider. */
export interface ProviderAuth {
  type: 'bearer' | 'none';
  /** Env vars that may hold the key, tried in order. */
  envVars: string[];
  /** Header name, default `authorization`. */
  header?: string;
  /**
   * Turns the configured key into the header's credential, e.g. a signed JWT for keys of the
   * form `id.secret`. Called per request; cache inside. Default: the key as is.
   */
  credential?: (apiKey: string, nowMs: number, context: CredentialContext) => string;
}

/**
 * A declarative description of one provider. Provider packages export one; a route config can
 * declare one inline with `openAICompatible()`.
 */
export interface ProviderDescriptor {
  id: string;
  displayName: string;
  aliases: string[];
  wireFormat: 'openai-chat';
  /** Named base URLs; the chat path is appended. */
  endpoints: Record<string, string>;
  defaultEndpoint: string;
  /** Default `/chat/completions`. */
  chatPath?: string;
  auth: ProviderAuth;
  /** Extra headers sent on every request; a provider instance's `headers` override them by name. */
  headers?: Record<string, string>;
  catalog: ModelInfo[];
  defaultModel?: string;
  /** In-flight cap; 0 = no client-side cap (still counted). */
  maxConcurrency: number;
  /** `instance`: one budget per provider instance + credential (default); `model`: per model too. */
  budgetScope: 'instance' | 'model';
  timeouts: Partial<TimeoutsMs>;
  retry: Partial<RetryPolicy>;
  classify?: (input: ClassifyInput) => Classification | undefined;
  mapFinishReason?: (rawReason: string) => FinishMapping | undefined;
  transformRequest?: (
    body: Record<string, unknown>,
    context: TransformContext,
  ) => Record<string, unknown>;
}
