import { redactSecrets } from '../errors/redact.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent, FinishReason, Usage } from '../events/chat-events.js';
import { errorFromFrame, isErrorBody, type ErrorFrameOptions } from './error-frame.js';
import {
  normalizeFinishReason,
  type NormalizeFinishReasonOptions,
} from './normalize-finish-reason.js';
import { readUsage } from './read-usage.js';
import { describeSource, statusOf } from './source-context.js';
import { ToolCallAssembler } from './tool-call-assembler.js';

/** Identity of a response as its first chunk names it. */
export interface ResponseMetadata {
  id?: string;
  /** The model that answered; may be a newer build than the one requested. */
  model?: string;
  /** Unix seconds, as the provider sent it. */
  created?: number;
}

/** Options shared by the streaming and the non-streaming reader. */
export interface ChatChunkReaderOptions extends ErrorFrameOptions, NormalizeFinishReasonOptions {
  /**
   * Called once, before the first event of the response is handed out, with the id and model the
   * response named (the router puts them on its `start` event).
   */
  onMetadata?: ((metadata: ResponseMetadata) => void) | undefined;
  /**
   * Merge adjacent text (or reasoning) deltas decoded from the same body read into one event.
   * They arrived together, so merging delays nothing, and it spares the consumer one iterator
   * step per token: about 250 ns each on the recorded GLM streams, the largest cost after
   * JSON.parse (bench/sse-decode.bench.ts). Default true; false gives one event per wire delta.
   */
  coalesceDeltas?: boolean | undefined;
}

type Fields = Record<string, unknown>;

/**
 * Reads OpenAI-format completion chunks (streamed `delta`s, or a whole `message`) into chat
 * events, loosely: unknown fields are ignored, unknown finish reasons go through
 * `mapFinishReason`, and nothing is validated beyond the fields it reads. This is the hot path of
 * every stream, so it is a plain class walking plain objects: no schema, no per-chunk closures.
 *
 * Only choice 0 is read; requests with `n > 1` are not supported.
 */
export class ChatChunkReader {
  /** Set once a chunk carried a non-empty `finish_reason`. */
  rawFinishReason: string | null = null;
  finishReason: FinishReason | undefined;
  /** The last usage object seen; providers send it with the finish chunk or in a chunk of its own. */
  usage: Usage | undefined;
  metadata: ResponseMetadata | undefined;
  /** Chunks skipped as unreadable, and why the first one was. */
  skipped = 0;
  firstSkipped: string | undefined;
  /** Set once a chunk carried content, reasoning or a tool call. */
  sawOutput = false;
  private readonly toolCalls = new ToolCallAssembler();
  private readonly coalesce: boolean;

  constructor(private readonly options: ChatChunkReaderOptions) {
    this.coalesce = options.coalesceDeltas ?? true;
  }

  /**
   * Reads one parsed chunk, pushing its events onto `out`. A value that is not an object becomes
   * an `error` event carrying `rawText`.
   *
   * @throws SluiceError when the chunk is an error body or its finish reason maps to an error.
   */
  read(chunk: unknown, rawText: string, out: ChatEvent[], whole = false): void {
    if (typeof chunk !== 'object' || chunk === null) {
      this.skip(rawText, out, 'it is not a JSON object');
      return;
    }
    const fields = chunk as Fields;
    const choices = fields.choices;

    // The common chunk (one choice, a delta, no usage yet) takes the fewest checks.
    if (fields.error !== undefined && isErrorBody(fields)) {
      throw errorFromFrame(fields, rawText, this.options);
    }
    if (this.metadata === undefined) this.readMetadata(fields);
    const usage = fields.usage;
    if (usage !== undefined && usage !== null) this.usage = readUsage(usage) ?? this.usage;

    if (!Array.isArray(choices)) {
      if (Array.isArray(chunk)) this.skip(rawText, out, 'it is not a JSON object');
      return;
    }
    for (let i = 0; i < choices.length; i++) {
      const choice: unknown = choices[i];
      if (typeof choice !== 'object' || choice === null) continue;
      const choiceFields = choice as Fields;
      const index = choiceFields.index;
      if (index !== 0 && index !== undefined && index !== null) continue;

      const delta = whole ? choiceFields.message : choiceFields.delta;
      if (typeof delta === 'object' && delta !== null) this.readDelta(delta as Fields, out, whole);

      const finishReason = choiceFields.finish_reason;
      if (typeof finishReason === 'string' && finishReason !== '') {
        this.rawFinishReason = finishReason;
        this.finishReason = normalizeFinishReason(finishReason, this.options);
      }
    }
  }

  /** Pushes the non-fatal `error` event of a chunk that could not be read, and counts it. */
  skip(rawText: string, out: ChatEvent[], why: string): void {
    this.skipped++;
    this.firstSkipped ??= why;
    out.push(malformedChunk(rawText, this.options, why));
  }

  /** Pushes the assembled `tool-call` events and then the one `finish` event onto `out`. */
  finish(out: ChatEvent[]): void {
    this.toolCalls.drain(out);
    const event: ChatEvent & { type: 'finish' } = {
      type: 'finish',
      reason: this.finishReason ?? 'other',
      rawReason: this.rawFinishReason,
    };
    if (this.usage !== undefined) event.usage = this.usage;
    out.push(event);
  }

  private readDelta(delta: Fields, out: ChatEvent[], whole: boolean): void {
    // GLM and DeepSeek name it reasoning_content; OpenRouter and vLLM name it reasoning.
    let reasoning = delta.reasoning_content;
    if (reasoning === undefined || reasoning === null) reasoning = delta.reasoning;
    if (typeof reasoning === 'string' && reasoning !== '') {
      this.pushText(out, 'reasoning-delta', reasoning);
    }

    const content = delta.content;
    if (typeof content === 'string') {
      if (content !== '') this.pushText(out, 'text-delta', content);
    } else if (Array.isArray(content)) {
      const text = textOfParts(content);
      if (text !== '') this.pushText(out, 'text-delta', text);
    }

    const toolCalls = delta.tool_calls;
    if (Array.isArray(toolCalls)) {
      if (toolCalls.length > 0) this.sawOutput = true;
      for (let i = 0; i < toolCalls.length; i++) this.toolCalls.add(toolCalls[i], out, whole);
    }
  }

  /**
   * Appends to the last event of `out` when it is a delta of the same type. `out` only ever holds
   * events the consumer has not been handed yet, so a merged event is still unseen.
   */
  private pushText(out: ChatEvent[], type: 'text-delta' | 'reasoning-delta', text: string): void {
    this.sawOutput = true;
    const last = out.length > 0 ? out[out.length - 1] : undefined;
    if (this.coalesce && last !== undefined && last.type === type) {
      (last as { text: string }).text += text;
      return;
    }
    out.push({ type, text });
  }

  private readMetadata(fields: Fields): void {
    const metadata: ResponseMetadata = {};
    if (typeof fields.id === 'string') metadata.id = fields.id;
    if (typeof fields.model === 'string') metadata.model = fields.model;
    if (typeof fields.created === 'number') metadata.created = fields.created;
    if (metadata.id === undefined && metadata.model === undefined) return;
    this.metadata = metadata;
    this.options.onMetadata?.(metadata);
  }
}

/** The non-fatal `error` event for one chunk that could not be read. */
export function malformedChunk(
  rawText: string,
  options: ChatChunkReaderOptions,
  why: string,
): ChatEvent {
  const error = new SluiceError({
    kind: 'provider',
    retryable: false,
    message: `${describeSource(options)} contained a chunk that was skipped because ${why}.`,
    phase: 'stream',
    route: options.route,
    providerId: options.providerId,
    status: statusOf(options),
  });
  return { type: 'error', error, raw: redactSecrets(rawText, options.secrets ?? []) };
}

// Some OpenAI-compatible servers send content as an array of parts rather than a string.
function textOfParts(parts: unknown[]): string {
  let text = '';
  for (const part of parts) {
    if (typeof part === 'string') text += part;
    else if (typeof part === 'object' && part !== null) {
      const value = (part as Fields).text;
      if (typeof value === 'string') text += value;
    }
  }
  return text;
}
