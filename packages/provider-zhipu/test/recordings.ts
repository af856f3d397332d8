// Reads the recorded GLM exchanges of ../fixtures/glm-recorded with a parser of its own, so the
// contract tests' expected values come from the recordings, never from Sluice's SSE decoder.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '../fixtures/glm-recorded');

/** One recorded turn `NAME.N`. */
export interface RecordedTurn {
  name: string;
  turn: number;
  request: { url: string; method: string; body: Record<string, unknown> };
  status: number;
  contentType: string;
  body: string;
}

/** What a consumer of the recorded stream must see. */
export interface RecordedAnswer {
  text: string;
  reasoning: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: string | null;
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    cached?: number;
  };
  model: string | undefined;
}

/** Exchange names (without `.N`) that have a recorded turn N. */
export function recordedExchanges(turn = 0): string[] {
  return readdirSync(FIXTURES)
    .filter((file) => file.endsWith(`.${turn}.request.json`))
    .map((file) => file.slice(0, -`.${turn}.request.json`.length))
    .sort();
}

export function readTurn(name: string, turn: number): RecordedTurn {
  const base = join(FIXTURES, `${name}.${turn}`);
  const meta = JSON.parse(readFileSync(`${base}.response.json`, 'utf8')) as {
    status: number;
    headers: Record<string, string[]>;
  };
  return {
    name,
    turn,
    request: JSON.parse(readFileSync(`${base}.request.json`, 'utf8')),
    status: meta.status,
    contentType: meta.headers['Content-Type']?.[0] ?? 'text/event-stream',
    body: readFileSync(`${base}.response.body`, 'utf8'),
  };
}

interface Chunk {
  model?: string;
  choices?: Array<{
    finish_reason?: string;
    delta?: {
      content?: string;
      reasoning_content?: string;
      tool_calls?: Array<{
        id?: string;
        index?: number;
        function?: { name?: string; arguments?: string };
      }>;
    };
  }>;
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details?: { cached_tokens?: number };
  };
}

/** Reads a recorded SSE body: `data:` lines up to `[DONE]`. */
export function readAnswer(body: string): RecordedAnswer {
  const chunks: Chunk[] = body
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice('data: '.length)) as Chunk);

  const answer: RecordedAnswer = {
    text: '',
    reasoning: '',
    toolCalls: [],
    finishReason: null,
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    model: chunks[0]?.model,
  };
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  for (const chunk of chunks) {
    const choice = chunk.choices?.[0];
    answer.text += choice?.delta?.content ?? '';
    answer.reasoning += choice?.delta?.reasoning_content ?? '';
    for (const call of choice?.delta?.tool_calls ?? []) {
      const index = call.index ?? 0;
      const known = calls.get(index) ?? { id: '', name: '', arguments: '' };
      known.id ||= call.id ?? '';
      known.name += call.function?.name ?? '';
      known.arguments += call.function?.arguments ?? '';
      calls.set(index, known);
    }
    if (choice?.finish_reason) answer.finishReason = choice.finish_reason;
    if (chunk.usage) {
      const { prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details } = chunk.usage;
      answer.usage = { prompt_tokens, completion_tokens, total_tokens };
      if (prompt_tokens_details?.cached_tokens !== undefined) {
        answer.usage.cached = prompt_tokens_details.cached_tokens;
      }
    }
  }
  answer.toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  return answer;
}
