/** Options of {@link Budget.acquire}. */
export interface AcquireOptions {
  /** Aborting removes the waiter from the queue at once and rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * The caller's abort state, checked instead of `signal` before the waiter queues; `signal` is
   * then read only when the waiter has to queue, so it may be a getter that makes the signal on
   * demand. The router's budget step passes its request's abort scope this way, and a lease
   * granted at once costs no AbortSignal.
   */
  abort?: { readonly aborted: boolean; readonly reason: unknown };
  /** Higher goes first (p-queue convention). Default 0; the fleet gives root sessions 10. */
  priority?: number;
  /** Waiters of one priority are served round-robin by session, so no session starves another. */
  session?: string;
  /**
   * The session's weight in that round-robin: grants per round relative to its siblings.
   * Default 1; `2` gets two grants where a sibling gets one. Must be > 0.
   */
  share?: number;
  /** Maximum wait in the queue, in ms; rejects with a `queue-timeout` SluiceError. 0 = none. */
  timeoutMs?: number;
  /**
   * Called once, synchronously inside `acquire()`, when the waiter has to queue (no free lease,
   * a cooldown, or earlier waiters). Not called on the fast path. Lets a caller publish a
   * `queued` telemetry event without guessing from counts.
   */
  onQueued?: () => void;
}

/** One unit of a budget. Held from send until the response body ended, failed or was cancelled. */
export interface Lease {
  readonly id: number;
  readonly budgetKey: string;
  /** `performance.now()` when granted. */
  readonly acquiredAt: number;
  /** How long the waiter queued, in ms. */
  readonly waitedMs: number;
  readonly released: boolean;
  /** Idempotent: the second and later calls do nothing. */
  release(): void;
}

/** Events of a budget, with their payloads. */
export interface BudgetEventMap {
  queued: { key: string; session?: string; pending: number };
  acquired: { key: string; leaseId: number; session?: string; waitedMs: number; active: number };
  released: { key: string; leaseId: number; heldMs: number; active: number };
  rejected: { key: string; session?: string; reason: unknown };
  resized: { key: string; limit: number; previous: number };
  cooldown: { key: string; untilMs: number; reason: string };
  idle: { key: string };
}

export type BudgetEventName = keyof BudgetEventMap;

/**
 * A bounded in-flight count for one budget key (default: provider instance + credential).
 * `limit` 0 means no client-side cap, but leases are still counted.
 */
export interface Budget {
  readonly key: string;
  readonly limit: number;
  /** Leases held now. */
  readonly active: number;
  /** Waiters in the queue now. */
  readonly pending: number;
  /** The backend that counts: `memory`, `ipc`, `socket`, `redis`. */
  readonly backend: string;
  /** Epoch ms until which no lease is granted after a rate-limit signal; 0 when none. */
  readonly cooldownUntil: number;
  /**
   * Whether the backend that counts is reachable, for backends that can fail (Redis): `ok`;
   * `degraded` while reconnecting or running on a local fallback cap; `down` when acquires fail
   * with `budget-unavailable`. `detail` says why, without secrets. Absent on in-process budgets,
   * which cannot be unreachable. Read by readiness.
   */
  readonly health?: { state: 'ok' | 'degraded' | 'down'; detail?: string };

  acquire(options?: AcquireOptions): Promise<Lease>;
  /** Changes the limit at runtime. Lowering never revokes held leases; it only stops grants. */
  resize(limit: number): void;
  /**
   * Pauses all grants until `untilMs` (epoch ms), so queued requests wait out a provider's rate
   * limit together. A later deadline extends it; an earlier one is ignored.
   */
  cooldown(untilMs: number, reason: string): void;
  /** Resolves when nothing is active and nothing is queued. */
  onIdle(): Promise<void>;
  on<E extends BudgetEventName>(
    event: E,
    listener: (payload: BudgetEventMap[E]) => void,
  ): () => void;
}

/** Where budgets live. The in-process backend is the default; IPC, socket and Redis plug in here. */
export interface BudgetBackend {
  readonly name: string;
  open(key: string, options: { limit: number }): Budget;
  close?(): Promise<void>;
}

/** Exactly one budget per key: two routers for the same provider and credential share it. */
export interface BudgetRegistry {
  readonly backend: BudgetBackend;
  /** Returns the budget of `key`, opening it with `limit` the first time. */
  get(key: string, options: { limit: number }): Budget;
  /**
   * Declares `limit` for `key` until the returned function is called: a router declares the
   * limits of its config when it is created and withdraws them when it is closed, so a closed
   * router's stricter limit stops holding the others back. Optional: a registry without it keeps
   * every declared limit for its life.
   */
  declare?(key: string, limit: number): () => void;
  list(): Budget[];
}
