// Public exports of the sse area: decoding OpenAI-format chat responses into chat events.
export {
  decodeChatStream,
  type ChatStreamBody,
  type DecodeChatStreamOptions,
} from './decode-chat-stream.js';
export { parseChatCompletion, type ParseChatCompletionOptions } from './parse-chat-completion.js';
export { collectChatResult, type CollectChatResultOptions } from './collect-chat-result.js';
export type { ChatChunkReaderOptions, ResponseMetadata } from './chat-chunk-reader.js';
export {
  normalizeFinishReason,
  type NormalizeFinishReasonOptions,
} from './normalize-finish-reason.js';
export { readUsage } from './read-usage.js';
export type { ErrorFrameOptions } from './error-frame.js';
export type { SourceContext } from './source-context.js';
