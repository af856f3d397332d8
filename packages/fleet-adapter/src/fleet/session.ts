import { SluiceError } from '@sluice/core';
import type { ChatOptions, ChatRequest, ChatStream, Router } from '@sluice/core';

import type { BudgetConnection } from '../server/budget-server.js';
import { mergeAccounting, SessionAccounting, type SessionStats } from './session-accounting.js';

/** Options of {@link Session.spawn}. */
export interface SpawnSessionOptions {
  /** Higher goes first in every budget queue. Default: the fleet's child priority (0). */
  priority?: number;
  /**
   * The session's weight among queued siblings of the same priority: grants per round of the
   * budget's round-robin. Default 1; `share: 2` gets two grants where a sibling gets one.
   * Enforced by every backend: in-process budgets, the owner's queue for a worker or child process
   * bound to the session, and the Redis backend's local queue of each process.
   */
  share?: number;
}

/** Options of {@link Session.chat}: those of `router.chat()` without `session`, which is implied. */
export type SessionChatOptions = Omit<ChatOptions, 'session'>;

/** Options of {@link Session.stats}. */
export interface SessionStatsOptions {
  /** Sum the session's whole subtree instead of the session alone. Default false. */
  descendants?: boolean;
}

/**
 * One agent conversation of a fleet: the root (the parent agent) or a sub-agent at any depth.
 * All sessions of a fleet use the fleet's router, hence the same budget registry: a child never
 * gets a budget of its own.
 */
export interface Session {
  /** Unique in the fleet: the path of names from the root, `root/planner/search`. */
  readonly id: string;
  readonly name: string;
  readonly parent: Session | undefined;
  readonly children: readonly Session[];
  /** 0 for the root. */
  readonly depth: number;
  /** Queue priority of the session's requests; higher goes first. */
  readonly priority: number;
  readonly share: number;
  /**
   * Aborts when the session (or an ancestor) is cancelled, and stays aborted: a cancel is
   * permanent, so every read after it returns the same aborted signal.
   */
  readonly signal: AbortSignal;
  /** True once the session or an ancestor was cancelled (for good: see {@link cancel}). */
  readonly cancelled: boolean;
  /** Starts a child session under this one. */
  spawn(name: string, options?: SpawnSessionOptions): Session;
  /**
   * `router.chat()` as this session: fairness, priority and accounting follow the session. One
   * lease covers this one model request, from send until its body ends, never the whole turn, so
   * a tool that waits on a child session while the parent holds nothing cannot deadlock.
   */
  chat(request: ChatRequest, options?: SessionChatOptions): ChatStream;
  /**
   * Cancels every in-flight and queued request of this session and its descendants, freeing
   * their leases; workers and processes bound to them are told through their `cancelSignal`.
   *
   * A cancel is permanent, like stopping a sub-agent: from then on every new request of these
   * sessions (and of sessions spawned under them later), whether made here, in a bound worker or
   * in a bound process, fails at once with an `aborted` SluiceError naming the session, takes no
   * lease and sends nothing; `signal` and the children's `cancelSignal` stay aborted. Spawn a
   * new session for new work. Calling it again does nothing.
   */
  cancel(reason?: unknown): void;
  /** The session's figures (or its subtree's). */
  stats(options?: SessionStatsOptions): SessionStats;
}

/** What a session needs from its fleet. */
export interface SessionHost {
  readonly router: Router;
  readonly childPriority: number;
  register(session: FleetSession): void;
  uniqueId(parent: FleetSession, name: string): string;
}

/** @internal The fleet's session implementation. */
export class FleetSession implements Session {
  readonly children: FleetSession[] = [];
  readonly depth: number;
  readonly accounting = new SessionAccounting();
  /** Workers and processes whose leases count against this session. */
  readonly bound = new Set<BudgetConnection>();
  private readonly controller = new AbortController();
  /** Set once the session or an ancestor is cancelled: what its new requests fail with. */
  private cancelError: SluiceError | undefined;
  /** Set with cancelError: what bound workers and processes are told. */
  private cancelText = '';
  /** Id of the session whose cancel reached this one (itself or an ancestor). */
  private cancelledAt = '';

  constructor(
    private readonly host: SessionHost,
    readonly id: string,
    readonly name: string,
    readonly parent: FleetSession | undefined,
    readonly priority: number,
    readonly share: number,
  ) {
    this.depth = parent ? parent.depth + 1 : 0;
    // Spawned under a cancelled session: born cancelled, so it cannot outlive the cancel.
    if (parent?.cancelError) {
      const how = ` (spawned under "${parent.id}" after "${parent.cancelledAt}" was cancelled)`;
      this.markCancelled(cancelLabel(id, how), parent.cancelledAt, parent.controller.signal.reason);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get cancelled(): boolean {
    return this.cancelError !== undefined;
  }

  spawn(name: string, options: SpawnSessionOptions = {}): FleetSession {
    validateName(name);
    const priority = options.priority ?? this.host.childPriority;
    const share = options.share ?? 1;
    validateNumber('priority', priority, name);
    validateNumber('share', share, name);
    const child = new FleetSession(
      this.host,
      this.host.uniqueId(this, name),
      name,
      this,
      priority,
      share,
    );
    this.children.push(child);
    this.host.register(child);
    return child;
  }

  chat(request: ChatRequest, options: SessionChatOptions = {}): ChatStream {
    const own = this.controller.signal;
    // A cancelled session takes no new request: the router rejects a stream whose signal is
    // already aborted with that reason (a SluiceError naming the session) before it queues for a
    // lease or sends anything; it still checks the request and options at the call.
    const signal = this.cancelError
      ? AbortSignal.abort(this.cancelError)
      : options.signal
        ? AbortSignal.any([own, options.signal])
        : own;
    return this.host.router.chat(request, {
      ...options,
      signal,
      session: {
        id: this.id,
        priority: this.priority,
        share: this.share,
        parentId: this.parent?.id,
      },
    });
  }

  cancel(reason?: unknown): void {
    if (this.cancelError) return;
    const why =
      reason ??
      new SluiceError({
        kind: 'aborted',
        message: `Session "${this.id}" was cancelled.`,
      });
    const detail = describeReason(reason);
    for (const session of this.subtree()) {
      if (session.cancelError) continue;
      const how = session === this ? detail : ` with its ancestor "${this.id}"${detail}`;
      session.markCancelled(cancelLabel(session.id, how), this.id, why);
    }
  }

  stats(options: SessionStatsOptions = {}): SessionStats {
    if (!options.descendants) return this.accounting.snapshot();
    return mergeAccounting(this.subtree().map((session) => session.accounting));
  }

  /** This session and all its descendants, parents before children. */
  subtree(): FleetSession[] {
    const out: FleetSession[] = [];
    const visit = (session: FleetSession): void => {
      out.push(session);
      for (const child of session.children) visit(child);
    };
    visit(this);
    return out;
  }

  /**
   * Binds a worker's or process's connection; one bound to a session cancelled already is
   * cancelled at once, so it never gets a lease.
   */
  bind(connection: BudgetConnection): void {
    this.bound.add(connection);
    void connection.closed.then(() => this.bound.delete(connection));
    if (this.cancelError) connection.cancel(this.cancelText);
  }

  /**
   * Marks the session cancelled for good, then aborts its in-flight requests (with `reason`, as
   * `signal.reason`) and tells its bound workers and processes.
   */
  private markCancelled(label: string, at: string, reason: unknown): void {
    // Marked before the abort, so a request started from an abort listener fails too.
    this.cancelError = cancelledError(label, reason);
    this.cancelText = label;
    this.cancelledAt = at;
    this.controller.abort(reason);
    for (const connection of this.bound) connection.cancel(label);
  }
}

/** What bound workers and processes are told: `session "root/x" was cancelled[ how]`. */
function cancelLabel(id: string, how: string): string {
  return `session "${id}" was cancelled${how}`;
}

/** The error every new request of a cancelled session fails with. */
function cancelledError(label: string, cause: unknown): SluiceError {
  return new SluiceError({
    kind: 'aborted',
    phase: 'queue',
    message: `The ${label}, and a cancelled session takes no new requests.`,
    hint: 'A cancel is permanent: spawn a new session for new work.',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `: <message>` for a reason given to cancel(), or nothing. */
function describeReason(reason: unknown): string {
  if (reason === undefined) return '';
  const text = reason instanceof Error ? reason.message : String(reason);
  return text ? `: ${text}` : '';
}

function validateName(name: string): void {
  if (typeof name !== 'string' || name.trim().length === 0 || name.includes('/')) {
    throw new SluiceError({
      kind: 'config',
      message: `session.spawn: name must be a non-empty string without "/", got ${JSON.stringify(name)}.`,
      hint: 'Name sub-agents after their job, e.g. "search" or "coder-2".',
    });
  }
}

function validateNumber(field: string, value: number, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || (field === 'share' && value <= 0)) {
    throw new SluiceError({
      kind: 'config',
      message: `session.spawn("${name}"): ${field} must be a finite number${field === 'share' ? ' > 0' : ''}, got ${String(value)}.`,
    });
  }
}
