import type { ChatEvent } from '../events/chat-events.js';
import { ChatChunkReader, type ChatChunkReaderOptions } from './chat-chunk-reader.js';
import { errorFromFrame } from './error-frame.js';
import { describeSource, statusOf } from './source-context.js';
import { SluiceError } from '../errors/sluice-error.js';

/** Options of {@link parseChatCompletion}; the same hooks as the streaming decoder. */
export type ParseChatCompletionOptions = ChatChunkReaderOptions;

/**
 * Turns a non-streaming chat completion (the parsed JSON, or its text) into the event sequence a
 * stream of the same answer gives: `reasoning-delta`, `text-delta`, one `tool-call-delta` per call
 * with its whole arguments, each `tool-call`, then one `finish` with reason and usage.
 *
 * @throws SluiceError `provider` when the text is not JSON or the value is not a completion
 *   object; the classified error when the body is `{"error": ...}` (status 200 given to
 *   `options.classify`); the hook's error when `mapFinishReason` maps the reason to one.
 */
export function parseChatCompletion(
  json: unknown,
  options: ParseChatCompletionOptions = {},
): ChatEvent[] {
  const bodyText = typeof json === 'string' ? json : undefined;
  const value = bodyText === undefined ? json : parseText(bodyText, options);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw notACompletion(options, 'it is not a JSON object');
  }
  if (!Array.isArray((value as Record<string, unknown>).choices)) {
    const text = bodyText ?? JSON.stringify(value);
    if ('error' in value) throw errorFromFrame(value, text, options);
    throw notACompletion(options, 'it has no `choices` array');
  }

  const events: ChatEvent[] = [];
  const reader = new ChatChunkReader(options);
  reader.read(value, bodyText ?? '', events, true);
  reader.finish(events);
  return events;
}

function parseText(text: string, options: ParseChatCompletionOptions): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw notACompletion(options, 'it is not valid JSON', cause);
  }
}

function notACompletion(
  options: ParseChatCompletionOptions,
  why: string,
  cause?: unknown,
): SluiceError {
  return new SluiceError({
    kind: 'provider',
    retryable: false,
    message: `${describeSource(options)} could not be read as a chat completion because ${why}.`,
    hint: 'Check that the endpoint speaks the OpenAI chat completions format.',
    phase: 'stream',
    route: options.route,
    providerId: options.providerId,
    status: statusOf(options),
    cause,
  });
}
