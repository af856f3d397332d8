// Public exports of the transport area: the per-instance HTTP client, the terminal pipeline step
// and the one place transport errors are normalized.
export { createTransport, type Transport, type TransportOptions } from './create-transport.js';
export {
  createTransportHandler,
  type TransportHandlerOptions,
} from './create-transport-handler.js';
export { buildChatRequestBody } from './build-chat-request-body.js';
export {
  normalizeTransportError,
  type TransportErrorContext,
} from './normalize-transport-error.js';
export { parseRetryAfter } from './parse-retry-after.js';
export { attachClassification, classificationOf } from './error-classification.js';
export { linkAbortSignal } from './link-abort-signal.js';
