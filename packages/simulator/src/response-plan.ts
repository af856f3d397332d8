import type { ChatBody, Recording } from './recordings.js';

/**
 * Everything one served response will send, decided before the first byte: for a stream the SSE
 * events (without `[DONE]`), for a plain request the JSON document. `steps` is how many pacing
 * steps the response takes at `tokensPerSecond`: one per event, or one per output token.
 */
export interface ResponsePlan {
  streaming: boolean;
  events: Record<string, unknown>[];
  document: Record<string, unknown> | undefined;
  steps: number;
}

/** The per-request identity written into every chunk, as the real API does. */
export interface ResponseIdentity {
  id: string;
  created: number;
  model: string;
}

/** Builds a plan from a recording, with the request's id, time and model written in. */
export function planFromRecording(recording: Recording, identity: ResponseIdentity): ResponsePlan {
  if (recording.streaming) {
    const events = recording.events.map((event) => withIdentity(event, identity));
    return { streaming: true, events, document: undefined, steps: events.length };
  }

  const document = withIdentity(recording.document, identity);
  if ('request_id' in document) document.request_id = identity.id;
  return {
    streaming: false,
    events: [],
    document,
    steps: Math.max(1, recording.completionTokens),
  };
}

// Spreading keeps the recorded key order and only swaps the values.
function withIdentity(value: unknown, identity: ResponseIdentity): Record<string, unknown> {
  const record = value as Record<string, unknown>;
  return { ...record, id: identity.id, created: identity.created, model: identity.model };
}

/** Options of {@link planGenerated}. */
export interface GenerateOptions {
  outputTokens: number;
  reasoningTokens: number;
  /** Seeds the word choice, so one request index always yields the same text. */
  seed: number;
}

const WORDS = [
  'the',
  'stream',
  'budget',
  'lease',
  'provider',
  'holds',
  'one',
  'slot',
  'while',
  'tokens',
  'arrive',
  'and',
  'every',
  'agent',
  'waits',
  'its',
  'turn',
  'in',
  'a',
  'fair',
  'queue',
  'so',
  'no',
  'request',
  'stalls',
  'past',
  'ceiling',
  'of',
  'served',
  'concurrency',
];

/**
 * Makes up a GLM-shaped response: `reasoningTokens` reasoning deltas, then `outputTokens` content
 * deltas of one word each, then a finish chunk with usage. `max_tokens` in the request caps the
 * content and turns the finish reason into `length`, as the real API does.
 */
export function planGenerated(
  body: ChatBody,
  identity: ResponseIdentity,
  options: GenerateOptions,
): ResponsePlan {
  const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : Infinity;
  const contentTokens = Math.min(options.outputTokens, Math.max(0, maxTokens));
  const finishReason = contentTokens < options.outputTokens ? 'length' : 'stop';
  const pickWord = createWordPicker(options.seed);
  const reasoning = Array.from({ length: options.reasoningTokens }, (_, i) => pickWord(i));
  const content = Array.from({ length: contentTokens }, (_, i) => pickWord(i));
  const usage = usageOf(body, options.reasoningTokens + contentTokens);

  if (body.stream !== true) {
    const message: Record<string, unknown> = { content: content.join(''), role: 'assistant' };
    if (reasoning.length > 0) message.reasoning_content = reasoning.join('');
    const document = {
      choices: [{ finish_reason: finishReason, index: 0, message }],
      created: identity.created,
      id: identity.id,
      model: identity.model,
      request_id: identity.id,
      usage,
    };
    return { streaming: false, events: [], document, steps: Math.max(1, usage.completion_tokens) };
  }

  const chunk = (choice: Record<string, unknown>): Record<string, unknown> => ({
    id: identity.id,
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, ...choice }],
  });
  const events = [
    ...reasoning.map((word) => chunk({ delta: { role: 'assistant', reasoning_content: word } })),
    ...content.map((word) => chunk({ delta: { role: 'assistant', content: word } })),
    {
      ...chunk({ finish_reason: finishReason, delta: { role: 'assistant', content: '' } }),
      usage,
    },
  ];
  return { streaming: true, events, document: undefined, steps: events.length };
}

// A small linear congruential generator: deterministic, dependency-free, good enough for words.
function createWordPicker(seed: number): (position: number) => string {
  let state = (seed * 2_654_435_761 + 1) >>> 0;
  return (position) => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    const word = WORDS[state % WORDS.length] ?? 'token';
    return position === 0 ? word : ` ${word}`;
  };
}

function usageOf(body: ChatBody, completionTokens: number) {
  // About four characters per token, the usual rough rule for English prompts.
  const promptChars = (body.messages ?? []).reduce(
    (sum, message) => sum + (typeof message.content === 'string' ? message.content.length : 0),
    0,
  );
  const promptTokens = Math.max(1, Math.ceil(promptChars / 4));
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/**
 * Writes a GLM finish reason (`network_error`, `sensitive`) over the plan's last finish reason,
 * or onto the last event when none carries one.
 */
export function withFinishReason(plan: ResponsePlan, finishReason: string): ResponsePlan {
  if (!plan.streaming) {
    const document = structuredClone(plan.document) as { choices?: Array<Record<string, unknown>> };
    const choice = document.choices?.[0];
    if (choice !== undefined) choice.finish_reason = finishReason;
    return { ...plan, document: document as Record<string, unknown> };
  }

  const events = [...plan.events];
  let at = events.findLastIndex((event) => finishReasonOf(event) !== undefined);
  if (at === -1) at = events.length - 1;
  const event = structuredClone(events[at]) as { choices?: Array<Record<string, unknown>> };
  const choice = event?.choices?.[0];
  if (choice !== undefined) choice.finish_reason = finishReason;
  events[at] = event as Record<string, unknown>;
  return { ...plan, events };
}

function finishReasonOf(event: Record<string, unknown>): unknown {
  const choices = event.choices as Array<{ finish_reason?: unknown }> | undefined;
  return choices?.[0]?.finish_reason ?? undefined;
}
