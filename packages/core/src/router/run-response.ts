import type { ChatEvent } from '../events/chat-events.js';
import type { ModelResponse } from '../pipeline/types.js';

/** A run of attempts (retry, fallback): its events from the first response, and its cancel. */
export interface AttemptRun {
  events(first: ModelResponse): AsyncIterable<ChatEvent>;
  cancel(reason: unknown): void;
}

/** The response a retrying or falling-back layer hands out: the first one's headers, the run's body. */
export function runResponse(first: ModelResponse, run: AttemptRun): ModelResponse {
  return {
    status: first.status,
    headers: first.headers,
    events: run.events(first),
    cancel: (reason?: unknown) => run.cancel(reason),
  };
}
