// Public exports of the pipeline area.
export { AbortScope } from './abort-scope.js';
export { composeMiddleware } from './compose-middleware.js';
export { createBudgetMiddleware, type BudgetMiddlewareOptions } from './budget-middleware.js';
export { holdLeaseUntilEnd, type HoldLeaseOptions } from './hold-lease-until-end.js';
export { wrapResponseBody } from './wrap-response-body.js';
export {
  EVENT_BATCHES,
  batchedEvents,
  eventBatchesOf,
  type BatchedEvents,
  type EventBatches,
} from './event-batches.js';
