/**
 * What happened to one chat request, as the simulator reports it to the `onEvent` option.
 * `index` numbers requests from 0 in arrival order; `atMs` is the time since the simulator
 * started, in ms. Each type but `served` matches one `stats()` counter.
 */
export type SimulatorEvent = { index: number; atMs: number } & SimulatorEventBody;

/** The type-specific part of a {@link SimulatorEvent}. */
export type SimulatorEventBody =
  /** Arrived (body not read yet). */
  | { type: 'request'; path: string }
  /** Admitted under the ceiling (or past it in `slow` mode): the response is being generated. */
  | { type: 'served'; model: string; stream: boolean; load: number }
  /** Held past the ceiling in `stall` mode: no bytes until the stall ends. */
  | { type: 'stalled'; load: number }
  /** Answered 429 with code 1302 because of the ceiling: at once, or at the end of a stall. */
  | { type: 'rejected'; after: 'ceiling' | 'stall' }
  /** Ended normally: `[DONE]` written or the JSON body sent. */
  | { type: 'completed'; durationMs: number }
  /** The socket was reset by a fault or at the end of a stall. */
  | { type: 'reset'; after: 'fault' | 'stall' }
  /** Answered with another error: injected status, bad body, or failed key check. */
  | { type: 'failed'; status: number; code: string }
  /** The client closed the connection before the answer ended. */
  | { type: 'aborted' };

/** Maps an event type to the `stats()` counter it increments. */
export const COUNTER_OF_EVENT = {
  request: 'requests',
  served: undefined,
  stalled: 'stalled',
  rejected: 'rejected',
  completed: 'completed',
  reset: 'resets',
  failed: 'failed',
  aborted: 'aborted',
} as const satisfies Record<SimulatorEventBody['type'], string | undefined>;
