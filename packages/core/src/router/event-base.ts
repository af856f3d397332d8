import type { ChatEvent } from '../events/chat-events.js';
import type { RequestContext } from '../pipeline/types.js';

/** The fields every {@link SluiceEvent} of a request carries, taken from its context. */
export function eventBase(context: RequestContext): {
  requestId: string;
  route: string;
  instance: string;
  providerId: string;
  budgetKey: string;
  sessionId?: string;
  time: number;
} {
  return {
    requestId: context.requestId,
    route: context.route.name,
    instance: context.route.instance,
    providerId: context.route.provider.id,
    budgetKey: context.route.budgetKey,
    ...(context.session ? { sessionId: context.session.id } : {}),
    time: Date.now(),
  };
}

/**
 * Whether an event is output the consumer can act on: once one has been delivered, a failure can
 * no longer be retried invisibly. `start` and non-fatal `error` events are not output.
 */
export function isOutputEvent(event: ChatEvent): boolean {
  return event.type !== 'start' && event.type !== 'error';
}

/** Whether an event is the first token in the TTFT sense: content, reasoning or a tool call. */
export function isTokenEvent(event: ChatEvent): boolean {
  return (
    event.type === 'text-delta' ||
    event.type === 'reasoning-delta' ||
    event.type === 'tool-call-delta' ||
    event.type === 'tool-call'
  );
}
