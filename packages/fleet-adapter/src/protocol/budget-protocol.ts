import { SluiceError } from '@sluice/core';
import type { RequestPhase, SluiceErrorKind, SluiceEvent } from '@sluice/core';

/**
 * Version of the budget wire protocol. A client and a server of different versions refuse each
 * other at the handshake with a clear error instead of misreading frames.
 */
export const BUDGET_PROTOCOL_VERSION = 1;

/** A budget's counts as the owner of the budget last reported them. */
export interface WireBudgetState {
  key: string;
  limit: number;
  active: number;
  pending: number;
  /** Epoch ms; 0 when no cooldown. */
  cooldownUntil: number;
}

/** A SluiceError (or any error) flattened for the wire. */
export interface WireError {
  kind: SluiceErrorKind;
  message: string;
  hint?: string;
  phase?: RequestPhase;
  retryable?: boolean;
  retryAfterMs?: number;
}

/**
 * What a client (the side that borrows budgets) sends. Frames are tuples, op first, and grants,
 * releases and like acquires carry many ids each, so one of them costs a few bytes on the wire:
 * at tens of thousands of round trips per second the encoding, not the budget, is the cost.
 */
export type ClientFrame =
  | [op: 'hello', version: number, pid: number]
  | [op: 'open', key: string, limit: number]
  /**
   * Acquires one lease for each id (client-chosen, unique per connection; an id names its lease
   * once granted). Consecutive acquires with the same options share one frame.
   */
  | [
      op: 'acquire',
      key: string,
      limit: number,
      priority: number | null,
      session: string | null,
      timeoutMs: number | null,
      ...ids: number[],
    ]
  /** Withdraws an acquire: dequeues it, or releases its lease if it was granted meanwhile. */
  | [op: 'cancel', id: number]
  /** Releases the leases of these acquire ids. */
  | [op: 'release', ...ids: number[]]
  | [op: 'resize', key: string, limit: number]
  | [op: 'cooldown', key: string, untilMs: number, reason: string]
  | [op: 'stats', id: number]
  /**
   * The client's router telemetry from now on, for the owner's per-session accounting. The
   * first one tells the owner to stop counting this connection's grants itself.
   */
  | [op: 'events', ...events: SluiceEvent[]];

/** What the server (the side that owns the budgets) sends. */
export type ServerFrame =
  /** `session`: the session the server attributes this connection's leases to, if bound. */
  | [op: 'welcome', version: number, session: { id: string; priority: number } | null]
  | [op: 'refused', error: WireError]
  /** The acquire had to wait in the owner's queue. */
  | [op: 'queued', id: number]
  /** These acquire ids now hold a lease each. */
  | [op: 'granted', ...ids: number[]]
  | [op: 'rejected', id: number, error: WireError]
  | [
      op: 'state',
      key: string,
      limit: number,
      active: number,
      pending: number,
      cooldownUntil: number,
    ]
  | [op: 'resized', key: string, limit: number, previous: number]
  | [op: 'cooldown', key: string, untilMs: number, reason: string]
  | [op: 'stats', id: number, budgets: WireBudgetState[]]
  /** The session this connection is bound to was cancelled by the owner. */
  | [op: 'cancelled', reason: string];

/**
 * A bidirectional, ordered message channel carrying batches of frames: a MessagePort, a child
 * process's IPC channel or a socket. Each adapter maps its own close signal onto `onClose`.
 */
export interface FrameChannel<Incoming, Outgoing> {
  /** Sends one batch. Must not throw once the channel is closed (it drops the batch instead). */
  send(frames: Outgoing[]): void;
  onFrames(listener: (frames: Incoming[]) => void): void;
  /** Called once, with a short description of what went away. */
  onClose(listener: (reason: string) => void): void;
  close(): void;
  /** Keeps the event loop alive for this channel (while a reply is awaited). */
  ref(): void;
  /** Lets the process exit although the channel is open (nothing awaited). */
  unref(): void;
}

/**
 * Collects frames pushed during one turn of the event loop and sends them as one batch.
 * `setImmediate` rather than a microtask: grants resolve over several microtasks, and the check
 * phase runs right after the poll phase that delivered the requests, so a burst of acquires
 * costs one message each way while a lone acquire waits for no timer.
 */
export class FrameBatcher<Frame> {
  private queue: Frame[] = [];
  private scheduled = false;

  /**
   * @param send receives each non-empty batch.
   * @param finalize may append frames computed at send time (coalesced state updates).
   */
  constructor(
    private readonly send: (frames: Frame[]) => void,
    private readonly finalize?: (frames: Frame[]) => void,
  ) {}

  /** The frame queued last, if any; a caller may append to it until the flush. */
  last(): Frame | undefined {
    return this.queue[this.queue.length - 1];
  }

  /** Queues `frame` for this turn's batch. */
  push(frame: Frame): void {
    this.queue.push(frame);
    this.schedule();
  }

  /** Makes sure a flush runs this turn, even if nothing is queued yet (for `finalize`). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  /** Sends whatever is queued now. */
  readonly flush = (): void => {
    this.scheduled = false;
    const frames = this.queue;
    this.queue = [];
    this.finalize?.(frames);
    if (frames.length > 0) this.send(frames);
  };
}

/** Flattens an error for the wire, keeping the SluiceError fields a client rebuilds it from. */
export function toWireError(error: unknown): WireError {
  if (SluiceError.isInstance(error)) {
    const message =
      error.hint && error.message.endsWith(` ${error.hint}`)
        ? error.message.slice(0, -error.hint.length - 1)
        : error.message;
    return {
      kind: error.kind,
      message,
      hint: error.hint,
      phase: error.phase,
      retryable: error.retryable,
      retryAfterMs: error.retryAfterMs,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'unknown', message };
}

/** Rebuilds a SluiceError from its wire form. */
export function fromWireError(wire: WireError): SluiceError {
  return new SluiceError({
    kind: wire.kind,
    message: wire.message,
    hint: wire.hint,
    phase: wire.phase,
    retryable: wire.retryable,
    retryAfterMs: wire.retryAfterMs,
  });
}
