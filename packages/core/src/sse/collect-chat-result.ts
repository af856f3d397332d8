import { SluiceError } from '../errors/sluice-error.js';
import { EVENT_BATCHES, eventBatchesOf } from '../pipeline/event-batches.js';
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
  const result = new ResultFold(options);
  if (EVENT_BATCHES in events) {
    // The router's streams: whole batches, folded without a promise hop per event.
    const batches = eventBatchesOf(events as AsyncIterable<ChatEvent>);
    for (let batch = await batches.next(); batch !== undefined; batch = await batches.next()) {
      for (const event of batch) result.add(event);
    }
  } else {
    for await (const event of events) result.add(event);
  }
  return result.done();
}

class ResultFold {
  text = '';
  reasoning = '';
  readonly toolCalls: ToolCall[] = [];
  finish: { reason: FinishReason; rawReason: string | null; usage?: Usage } | undefined;
  route: string;
  model: string | undefined;
  attempts = 1;

  constructor(options: CollectChatResultOptions) {
    this.route = options.route ?? '';
    this.model = options.model;
  }

  add(event: ChatEvent): void {
    switch (event.type) {
      case 'start':
        this.route = event.route;
        this.attempts = event.attempt;
        if (event.model !== undefined) this.model = event.model;
        break;
      case 'text-delta':
        this.text += event.text;
        break;
      case 'reasoning-delta':
        this.reasoning += event.text;
        break;
      case 'tool-call':
        this.toolCalls.push({
          index: event.index,
          id: event.id,
          name: event.name,
          arguments: event.arguments,
        });
        break;
      case 'finish':
        this.finish = event;
        break;
    }
  }

  done(): ChatResult {
    const { finish, route } = this;
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
      text: this.text,
      reasoning: this.reasoning,
      toolCalls: this.toolCalls,
      finishReason: finish.reason,
      rawFinishReason: finish.rawReason,
      usage: finish.usage,
      model: this.model,
      route,
      attempts: this.attempts,
    };
  }
}
