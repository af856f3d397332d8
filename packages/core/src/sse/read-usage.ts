import type { Usage } from '../events/chat-events.js';

/**
 * Reads a provider's `usage` object loosely into {@link Usage}. Missing counts become 0 and a
 * missing total becomes prompt + completion; reasoning and cached counts are set only when the
 * provider sent them (OpenAI `*_tokens_details`, DeepSeek `prompt_cache_hit_tokens`). The object
 * itself is kept as `raw`. Returns undefined for anything that is not an object (`usage: null`
 * is common in the middle of a stream).
 */
export function readUsage(value: unknown): Usage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const raw = value as Record<string, unknown>;

  const promptTokens = count(raw.prompt_tokens) ?? count(raw.input_tokens) ?? 0;
  const completionTokens = count(raw.completion_tokens) ?? count(raw.output_tokens) ?? 0;
  const usage: Usage = {
    promptTokens,
    completionTokens,
    totalTokens: count(raw.total_tokens) ?? promptTokens + completionTokens,
    raw,
  };

  const reasoningTokens =
    count(detail(raw.completion_tokens_details, 'reasoning_tokens')) ?? count(raw.reasoning_tokens);
  if (reasoningTokens !== undefined) usage.reasoningTokens = reasoningTokens;

  const cachedPromptTokens =
    count(detail(raw.prompt_tokens_details, 'cached_tokens')) ??
    count(raw.prompt_cache_hit_tokens) ??
    count(raw.cached_tokens);
  if (cachedPromptTokens !== undefined) usage.cachedPromptTokens = cachedPromptTokens;

  return usage;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function detail(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}
