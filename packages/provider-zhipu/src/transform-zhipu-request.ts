import type { TransformContext } from '@sluice/core';

/**
 * GLM's sampling temperature range. The GLM-4.5+ chat reference gives [0.0, 1.0] (OpenAI allows
 * up to 2); values outside are clamped rather than rejected, so a config shared with OpenAI
 * routes still works on GLM. Source: the chat/completions parameter tables on docs.bigmodel.cn
 * and docs.z.ai; langchain's ChatZhipuAI documents the same upper bound.
 */
export const ZHIPU_TEMPERATURE_RANGE = { min: 0, max: 1 } as const;

/** The `thinking` wire field. */
export interface ZhipuThinking {
  type: 'enabled' | 'disabled';
}

/**
 * Reads `providerOptions.thinking`: `{ type: 'enabled' | 'disabled' }`, a boolean, or the string
 * `'enabled'` / `'disabled'`. Anything else is ignored, leaving GLM's default (dynamic thinking).
 */
export function readThinkingOption(value: unknown): ZhipuThinking | undefined {
  if (value === true || value === 'enabled') return { type: 'enabled' };
  if (value === false || value === 'disabled') return { type: 'disabled' };
  if (typeof value === 'object' && value !== null) {
    const type = (value as { type?: unknown }).type;
    if (type === 'enabled' || type === 'disabled') return { ...(value as object), type };
  }
  return undefined;
}

function clampTemperature(value: unknown): unknown {
  if (typeof value !== 'number' || Number.isNaN(value)) return value;
  return Math.min(ZHIPU_TEMPERATURE_RANGE.max, Math.max(ZHIPU_TEMPERATURE_RANGE.min, value));
}

/**
 * GLM accepts one stop sequence (the reference: "only a single stop word is supported"), given as
 * a one-element array. The first one wins; an empty list drops the field.
 */
function firstStop(value: unknown): string[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  const first = list.find((item): item is string => typeof item === 'string' && item !== '');
  return first === undefined ? undefined : [first];
}

/**
 * Turns the OpenAI-shaped body the core built into what GLM accepts:
 *
 * - `thinking` from `providerOptions.thinking` (see {@link readThinkingOption}).
 * - `temperature` clamped into {@link ZHIPU_TEMPERATURE_RANGE}.
 * - `stop`: at most one sequence.
 * - `tool_choice`: GLM supports only `auto`. `none` is honoured by not sending the tools at all
 *   (the model cannot call what it does not see); `required` and a named function become `auto`,
 *   since GLM cannot be forced to call a tool. Without tools, `tool_choice` is dropped.
 * - `stream_options` passed through; a streaming request without it asks for usage
 *   (`include_usage: true`), which GLM otherwise omits from the last chunk.
 *
 * The input is not modified.
 */
export function transformZhipuRequest(
  body: Record<string, unknown>,
  context: TransformContext,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };

  const thinking = readThinkingOption(context.providerOptions.thinking);
  if (thinking) out.thinking = thinking;

  if ('temperature' in out) out.temperature = clampTemperature(out.temperature);

  if ('stop' in out) {
    const stop = firstStop(out.stop);
    if (stop) out.stop = stop;
    else delete out.stop;
  }

  applyToolChoice(out);

  if (out.stream === true && out.stream_options === undefined) {
    out.stream_options = { include_usage: true };
  }
  return out;
}

function applyToolChoice(out: Record<string, unknown>): void {
  const hasTools = Array.isArray(out.tools) && out.tools.length > 0;
  if (out.tools === undefined && out.tool_choice === undefined) return;
  const choice = out.tool_choice;

  if (choice === 'none') {
    delete out.tools;
    delete out.tool_choice;
    return;
  }
  if (!hasTools) {
    // GLM rejects an empty tools list; without tools there is nothing to choose from either.
    delete out.tools;
    delete out.tool_choice;
    return;
  }
  if (choice !== undefined) out.tool_choice = 'auto';
}
