import type { FinishMapping } from '@sluice/core';

/**
 * GLM's own `finish_reason` values; the OpenAI ones (`stop`, `length`, `tool_calls`) are left to
 * the core. The raw value is kept on the finish event either way.
 *
 * - `sensitive`: the safety filter cut the answer (HTTP was 200): a content-filter finish.
 * - `network_error`: the model backend failed mid-answer although HTTP said 200. It is a provider
 *   failure, retryable while nothing has reached the consumer (the core never retries after
 *   output) (C03).
 * - `model_context_window_exceeded`: the prompt plus output ran past the context window, which
 *   ends the answer like `length`. TODO(zhipu): unverified: seen in client code, not in a
 *   first-party reference.
 */
export function mapZhipuFinishReason(rawReason: string): FinishMapping | undefined {
  switch (rawReason) {
    case 'sensitive':
      return { reason: 'content-filter' };
    case 'network_error':
      return {
        error: {
          kind: 'provider',
          message:
            'GLM ended the stream with finish_reason "network_error" (a backend failure behind ' +
            'an HTTP 200).',
          retryable: true,
        },
      };
    case 'model_context_window_exceeded':
      return { reason: 'length' };
    default:
      return undefined;
  }
}
