import type { FinishMapping } from '../descriptor/types.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { FinishReason } from '../events/chat-events.js';
import { describeSource, type SourceContext, statusOf } from './source-context.js';

/** Options of {@link normalizeFinishReason}. */
export interface NormalizeFinishReasonOptions extends SourceContext {
  /** The provider's hook for reasons that are not plain OpenAI ones (GLM `sensitive`, ...). */
  mapFinishReason?: ((rawReason: string) => FinishMapping | undefined) | undefined;
}

/**
 * Maps a wire finish reason onto {@link FinishReason}: the OpenAI values directly (`tool_calls`
 * and the legacy `function_call` to `tool-calls`, `content_filter` to `content-filter`), any other
 * value through `mapFinishReason`, and what the hook does not know to `other`, so a new provider
 * value never breaks a stream.
 *
 * @throws SluiceError (phase `stream`) of the hook's kind when the hook says the reason is an
 *   error, e.g. GLM's `network_error` on an HTTP 200 stream.
 */
export function normalizeFinishReason(
  rawReason: string,
  options: NormalizeFinishReasonOptions = {},
): FinishReason {
  switch (rawReason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
  }

  const mapped = options.mapFinishReason?.(rawReason);
  if (mapped === undefined) return 'other';
  if ('reason' in mapped) return mapped.reason;

  throw new SluiceError({
    kind: mapped.error.kind,
    retryable: mapped.error.retryable,
    message: `${describeSource(options)} ended with finish reason "${rawReason}": ${mapped.error.message}`,
    phase: 'stream',
    route: options.route,
    providerId: options.providerId,
    status: statusOf(options),
  });
}
