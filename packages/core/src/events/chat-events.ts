import type { SluiceError } from '../errors/sluice-error.js';

/** Normalized finish reasons. The provider's own value is kept as `rawReason`. */
export type FinishReason = 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'error' | 'other';

/** Token counts as the provider reported them; `raw` keeps the provider's object untouched. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  reasoningTokens?: number;
  cachedPromptTokens?: number;
  raw?: unknown;
}

/** One assembled tool call; `arguments` is always a JSON string, whatever the wire sent. */
export interface ToolCall {
  index: number;
  id: string;
  name: string;
  arguments: string;
}

/**
 * What a consumer of `router.chat()` sees, in order: one `start`, then deltas, each assembled
 * `tool-call` before the single `finish`. `error` events are non-fatal (one malformed chunk);
 * a fatal failure is thrown from the iterator as a SluiceError instead.
 */
export type ChatEvent =
  | { type: 'start'; id?: string; model?: string; attempt: number; route: string }
  | { type: 'text-delta'; text: string }
  | { type: 'reasoning-delta'; text: string }
  | {
      type: 'tool-call-delta';
      index: number;
      id?: string;
      name?: string;
      argumentsDelta: string;
    }
  | ({ type: 'tool-call' } & ToolCall)
  | { type: 'finish'; reason: FinishReason; rawReason: string | null; usage?: Usage }
  | { type: 'error'; error: SluiceError; raw?: string };

/** The collected outcome of one chat stream. */
export interface ChatResult {
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  rawFinishReason: string | null;
  usage: Usage | undefined;
  /** The model the response named; may be a newer build than the one requested. */
  model: string | undefined;
  route: string;
  attempts: number;
}
