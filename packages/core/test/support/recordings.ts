import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The recorded GLM exchanges copied into the package. */
export const RECORDINGS_DIR = join(import.meta.dirname, '../../fixtures/glm-recorded');

/** One recorded exchange: what the client sent and what the server answered. */
export interface Recording {
  name: string;
  request: { url: string; method: string; body: Record<string, unknown> };
  status: number;
  contentType: string;
  body: string;
  streaming: boolean;
}

/** Every recorded exchange, by name (`TestZAICommon__zai-glm-4.6__tool_streaming.1`). */
export function listRecordings(): Recording[] {
  return readdirSync(RECORDINGS_DIR)
    .filter((file) => file.endsWith('.request.json'))
    .map((file) => readRecording(file.replace(/\.request\.json$/, '')));
}

/** One exchange by name. */
export function readRecording(name: string): Recording {
  const read = (suffix: string) => readFileSync(join(RECORDINGS_DIR, `${name}.${suffix}`), 'utf8');
  const request = JSON.parse(read('request.json')) as Recording['request'];
  const response = JSON.parse(read('response.json')) as {
    status: number;
    headers: Record<string, string[]>;
  };
  const contentType = response.headers['Content-Type']?.[0] ?? 'application/json';
  return {
    name,
    request,
    status: response.status,
    contentType,
    body: read('response.body'),
    streaming: contentType.includes('event-stream'),
  };
}

/** What a consumer must see, read from a recorded SSE body with nothing but JSON.parse. */
export interface RecordedAnswer {
  text: string;
  reasoning: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  rawFinishReason: string | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
  model: string | undefined;
}

/**
 * An independent, minimal reading of a recorded SSE body: concatenates `content` and
 * `reasoning_content`, joins tool-call fragments by index (first id and name win), keeps the
 * last finish reason and usage. Deliberately shares no code with the decoder under test.
 */
export function readRecordedAnswer(body: string): RecordedAnswer {
  const answer: RecordedAnswer = {
    text: '',
    reasoning: '',
    toolCalls: [],
    rawFinishReason: null,
    usage: undefined,
    model: undefined,
  };
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice('data: '.length));
    answer.model ??= chunk.model;
    if (chunk.usage) answer.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    if (choice.finish_reason) answer.rawFinishReason = choice.finish_reason;
    const delta = choice.delta ?? {};
    if (typeof delta.content === 'string') answer.text += delta.content;
    if (typeof delta.reasoning_content === 'string') answer.reasoning += delta.reasoning_content;
    for (const call of delta.tool_calls ?? []) {
      const entry = calls.get(call.index) ?? { id: '', name: '', arguments: '' };
      if (!entry.id && call.id) entry.id = call.id;
      if (!entry.name && call.function?.name) entry.name = call.function.name;
      if (call.function?.arguments) entry.arguments += call.function.arguments;
      calls.set(call.index, entry);
    }
  }
  answer.toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  return answer;
}
