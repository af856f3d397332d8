import type { ResolvedRoute } from '../config/resolved-route.js';
import type { ChatEvent } from '../events/chat-events.js';
import type { ChatRequest } from '../events/chat-request.js';
import type { SluiceEvent } from '../router/router-events.js';

/** Who is asking: a session of the fleet tree, used for fairness and accounting. */
export interface SessionRef {
  id: string;
  /** Higher goes first; default 0. */
  priority?: number;
  /** Weight among sessions of the same priority (grants per round); default 1. */
  share?: number;
  parentId?: string;
}

/** The context every middleware sees. One per attempt chain; `attempt` counts up on retries. */
export interface RequestContext {
  readonly requestId: string;
  request: ChatRequest;
  route: ResolvedRoute;
  readonly session: SessionRef | undefined;
  readonly priority: number;
  /** Aborts when the caller aborts or cancels. */
  readonly signal: AbortSignal;
  /** 1-based. */
  attempt: number;
  /** Publishes a telemetry event on the router's event stream. */
  emit(event: SluiceEvent): void;
  /**
   * False while nobody listens to the router's events: a middleware on the hot path may skip
   * building its events then. Absent means observed.
   */
  readonly observed?: () => boolean;
  /** Per-request scratch space for middleware. */
  readonly state: Map<string | symbol, unknown>;
}

/**
 * One attempt's response: headers have arrived, the body is `events`. Iterating `events` to the
 * end, breaking out, or calling `cancel()` ends the body exactly once.
 */
export interface ModelResponse {
  status: number;
  headers: Headers;
  events: AsyncIterable<ChatEvent>;
  cancel(reason?: unknown): void;
}

export type Next = (context: RequestContext) => Promise<ModelResponse>;

/** A function wrapping a model request, outermost first, in the shape of hono/koa middleware. */
export type Middleware = (context: RequestContext, next: Next) => Promise<ModelResponse>;
