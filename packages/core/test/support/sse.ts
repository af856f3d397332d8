/** One SSE `data:` frame for a JSON chunk. */
export function frame(chunk: unknown): string {
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** A GLM/OpenAI-shaped streamed chunk with one delta. */
export function deltaChunk(delta: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    id: 'chatcmpl-test',
    created: 1,
    model: 'test-model',
    choices: [{ index: 0, delta }],
    ...extra,
  };
}

/** A content delta frame. */
export const textFrame = (text: string): string => frame(deltaChunk({ content: text }));

/** The role-only first frame many providers send before any content. */
export const roleFrame = (): string => frame(deltaChunk({ role: 'assistant', content: '' }));

/** A finish frame with usage. */
export function finishFrame(
  reason = 'stop',
  usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
) {
  return frame({
    id: 'chatcmpl-test',
    created: 1,
    model: 'test-model',
    choices: [{ index: 0, delta: {}, finish_reason: reason }],
    usage,
  });
}

/** The terminating frame. */
export const DONE = 'data: [DONE]\n\n';

/** A whole short answer: role, the texts, finish, [DONE]. */
export function sseAnswer(...texts: string[]): string {
  return roleFrame() + texts.map(textFrame).join('') + finishFrame() + DONE;
}
