/**
 * @sluice/core: provider descriptors, route config, the lease budget, the middleware pipeline,
 * streaming transport, SSE chat events, retries, timeouts and the router.
 */
export * from './errors/sluice-error.js';
export * from './errors/redact.js';
export * from './errors/value-for-message.js';
export type * from './events/chat-events.js';
export type * from './events/chat-request.js';
export type * from './budget/types.js';
export type * from './descriptor/types.js';
export type * from './config/resolved-route.js';
export type * from './pipeline/types.js';
export type * from './router/router-events.js';
export type * from './router/types.js';
export * from './budget/index.js';
export * from './config/index.js';
export * from './descriptor/index.js';
export * from './sse/index.js';
export * from './transport/index.js';
export * from './pipeline/index.js';
export * from './router/index.js';
