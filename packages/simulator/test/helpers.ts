import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The package's fixture folder, found from this file and not through the code under test. */
export const FIXTURES = resolve(import.meta.dirname, '../fixtures/glm-recorded');

/** A minimal chat request body. */
export function chatBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'glm-4.6', messages: [{ role: 'user', content: 'hi' }], stream: true, ...extra };
}

/** POSTs a chat request to the simulator. */
export function postChat(
  baseURL: string,
  body: Record<string, unknown> = chatBody(),
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: JSON.stringify(body),
    signal: init.signal,
  });
}

/** Splits an SSE body into its `data:` payloads (the raw strings, `[DONE]` included). */
export function ssePayloads(text: string): string[] {
  return text
    .split('\n\n')
    .map((block) => block.trim())
    .filter((block) => block.startsWith('data:'))
    .map((block) => block.slice('data:'.length).trim());
}

/** What a consumer of a GLM stream assembles from it. */
export interface Assembled {
  content: string;
  reasoning: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReasons: string[];
  usage: unknown;
  models: string[];
  done: boolean;
}

/** Assembles content, reasoning, tool calls, finish reasons and usage from SSE payloads. */
export function assemble(payloads: string[]): Assembled {
  const result: Assembled = {
    content: '',
    reasoning: '',
    toolCalls: [],
    finishReasons: [],
    usage: undefined,
    models: [],
    done: false,
  };
  for (const payload of payloads) {
    if (payload === '[DONE]') {
      result.done = true;
      continue;
    }
    const chunk = JSON.parse(payload);
    result.models.push(chunk.model);
    if (chunk.usage !== undefined) result.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (choice === undefined) continue;
    if (choice.finish_reason) result.finishReasons.push(choice.finish_reason);
    result.content += choice.delta?.content ?? '';
    result.reasoning += choice.delta?.reasoning_content ?? '';
    for (const call of choice.delta?.tool_calls ?? []) {
      result.toolCalls.push({
        id: call.id,
        name: call.function.name,
        arguments: call.function.arguments,
      });
    }
  }
  return result;
}

/** Reads a recorded stream from the fixture folder and assembles it. */
export function recordedStream(name: string): Assembled {
  return assemble(ssePayloads(readFileSync(resolve(FIXTURES, `${name}.response.body`), 'utf8')));
}

/** Reads a recorded non-streaming document. */
export function recordedDocument(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(resolve(FIXTURES, `${name}.response.body`), 'utf8'));
}

/** Resolves to 'timeout' if the promise has not settled within `ms`. */
export async function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function waitUntil(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const startedAt = Date.now();
  while (!check()) {
    if (Date.now() - startedAt > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
