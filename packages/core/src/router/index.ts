// Public exports of the router area: createRouter, the ChatStream, and the pipeline's middleware.
export { createRouter } from './create-router.js';
export { routeBudgetRegistry, type BudgetBackendProvider } from './route-budgets.js';
export { createChatStream, type ChatStreamOptions } from './create-chat-stream.js';
export { createRouterFetch, type RouterFetchTarget } from './create-router-fetch.js';
export {
  createTelemetryMiddleware,
  type TelemetryMiddlewareOptions,
} from './telemetry-middleware.js';
export { createFallbackMiddleware, type FallbackMiddlewareOptions } from './fallback-middleware.js';
export {
  RETRY_PRIORITY_BOOST,
  createRetryMiddleware,
  midStreamError,
  type RetryMiddlewareOptions,
} from './retry-middleware.js';
export { computeRetryDelay, type RetryDelay } from './compute-retry-delay.js';
export { createDeadlinesMiddleware } from './deadlines-middleware.js';
export {
  createAdaptiveMiddleware,
  overloadSignal,
  type AdaptiveMiddlewareOptions,
} from './adaptive-middleware.js';
export { abortableSleep } from './abortable-sleep.js';
