import { SluiceError } from '../errors/sluice-error.js';
import type {
  ChatEvent,
  ChatResult,
  FinishReason,
  ToolCall,
  Usage,
} from '../events/chat-events.js';

/** Options of {@link collectChatResult}, for fields the events may not carry. */
export interface CollectChatResultOptions {
  /** Used when no `start` event names the route. Default `''`. */
  route?: string;
  /** Used when no `start` event names the model. */
  model?: string;
}

/**
 * Folds chat events into a {@link ChatResult}: the text and reasoning deltas concatenated, the
 * assembled tool calls, the finish reason and usage. `route`, `attempts` and `model` come from the
 * last `start` event (the router's), else from `options`; `attempts` is 1 without one. Non-fatal
 * `error` events are skipped. Errors thrown by the events' iterator propagate.
 *
 * @throws SluiceError `truncated` when the events end without a `finish` event.
 */
export async function collectChatResult(
  events: AsyncIterable<ChatEvent> | Iterable<ChatEvent>,
  options: CollectChatResultOptions = {},
): Promise<ChatResult> {
  let text = '';
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  let finish: { reason: FinishReason; rawReason: string | null; usage?: Usage } | undefined;
  let route = options.route ?? '';
  let model = options.model;
  let attempts = 1;

  for await (const event of events) {
    switch (event.type) {
      case 'start':
        route = event.route;
        attempts = event.attempt;
        if (event.model !== undefined) model = event.model;
        break;
      case 'text-delta':
        text += event.text;
        break;
      case 'reasoning-delta':
        reasoning += event.text;
        break;
      case 'tool-call':
        toolCalls.push({
          index: event.index,
          id: event.id,
          name: event.name,
          arguments: event.arguments,
        });
        break;
      case 'finish':
        finish = event;
        break;
    }
  }

  if (finish === undefined) {
    throw new SluiceError({
      kind: 'truncated',
      retryable: true,
      message: `The chat events of route "${route}" ended without a finish event.`,
      phase: 'stream',
      route: route === '' ? undefined : route,
    });
  }
  return {
    text,
    reasoning,
    toolCalls,
    finishReason: finish.reason,
    rawFinishReason: finish.rawReason,
    usage: finish.usage,
    model,
    route,
    attempts,
  };
}
