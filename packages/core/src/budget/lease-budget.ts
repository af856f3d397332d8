import { BudgetEvents } from './budget-events.js';
import { SluiceError } from '../errors/sluice-error.js';
import { FairQueue, type Lane } from './fair-queue.js';
import type { AcquireOptions, Budget, BudgetEventMap, BudgetEventName, Lease } from './types.js';

/** Options of {@link createLeaseBudget}. */
export interface LeaseBudgetOptions {
  /** The budget key, used in events and error messages (e.g. `glm:ab12cd`). */
  key: string;
  /** Leases that may be held at once; an integer >= 0, where 0 means no cap (still counted). */
  limit: number;
}

/**
 * Creates the in-process lease budget (backend `memory`): a bounded in-flight count with a fair
 * queue. Waiters are served by priority class (higher first), round-robin over sessions inside a
 * class, FIFO inside a session. An aborted or timed-out waiter leaves the queue at once and never
 * holds a lease.
 *
 * @example
 * ```ts
 * const budget = createLeaseBudget({ key: 'glm', limit: 3 });
 * const lease = await budget.acquire({ signal, session: 'root', priority: 10 });
 * try { await stream(); } finally { lease.release(); }
 * ```
 *
 * @throws SluiceError kind `config` when `key` is empty or `limit` is not an integer >= 0.
 */
export function createLeaseBudget(options: LeaseBudgetOptions): Budget {
  return new LeaseBudget(options.key, options.limit);
}

type Listener<E extends BudgetEventName> = (payload: BudgetEventMap[E]) => void;

/**
 * A queued acquire. Kept deliberately small (see the bench: bytes per queued waiter): only the
 * queue links, the resolve function of the promise and the enqueue time. The reject function of
 * the promise is not kept: rejection goes through `resolve(Promise.reject(reason))`, which saves
 * one function object per waiter.
 */
class Waiter {
  next: Waiter | undefined = undefined;
  prev: Waiter | undefined = undefined;
  lane: Lane<Waiter> | undefined = undefined;

  constructor(
    readonly resolve: (value: Lease | PromiseLike<Lease>) => void,
    /** `performance.now()` at enqueue; also the start of the queue deadline. */
    readonly enqueuedAt: number,
  ) {}
}

/**
 * A waiter with an abort signal or a queue timeout: it also sits in the waiter list of its signal
 * and in the list of waiters that share its timeout. A subclass rather than a side object, so a
 * watched waiter costs one object header, and a plain one carries none of these links.
 */
class WatchedWaiter extends Waiter {
  signalNext: WatchedWaiter | undefined = undefined;
  signalPrev: WatchedWaiter | undefined = undefined;
  signalGroup: SignalGroup | undefined = undefined;
  deadlineNext: WatchedWaiter | undefined = undefined;
  deadlinePrev: WatchedWaiter | undefined = undefined;
  deadlines: DeadlineList | undefined = undefined;
}

/**
 * All queued waiters of one AbortSignal, behind ONE abort listener. Agents often share a signal
 * across every request of a session; Node's EventTarget walks its whole listener list on each
 * add and remove, and warns past 10 listeners, so one listener per waiter would make queueing
 * quadratic and print a MaxListenersExceededWarning. The group is its own EventListener
 * (`handleEvent`), and it is removed from the signal as soon as its last waiter is granted or
 * leaves, so a signal reused across many acquires never accumulates listeners.
 */
class SignalGroup {
  head: WatchedWaiter | undefined = undefined;
  tail: WatchedWaiter | undefined = undefined;

  constructor(
    readonly budget: LeaseBudget,
    readonly signal: AbortSignal,
  ) {}

  handleEvent(): void {
    this.budget.abortGroup(this);
  }
}

/**
 * All waiters that were given the same `timeoutMs`, in enqueue order. Their deadlines are
 * therefore in order too, so one timer (for the head) serves the whole list instead of one
 * Node timer per waiter, which would cost more memory than the waiter itself.
 *
 * TODO(budget): callers that pass a different timeoutMs on every acquire (say, the time left of
 * an overall deadline) get one list and one timer each, as a naive queue would. A timer wheel or
 * a deadline heap would bound that; no caller in Sluice does it today (queueMs is per route).
 */
class DeadlineList {
  head: WatchedWaiter | undefined = undefined;
  tail: WatchedWaiter | undefined = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(readonly timeoutMs: number) {}
}

class LeaseImpl implements Lease {
  released = false;

  constructor(
    private readonly budget: LeaseBudget,
    readonly id: number,
    readonly budgetKey: string,
    readonly acquiredAt: number,
    readonly waitedMs: number,
  ) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.releaseLease(this);
  }
}

class LeaseBudget implements Budget {
  readonly backend = 'memory';

  private currentLimit: number;
  private activeCount = 0;
  private nextLeaseId = 1;
  private cooldownUntilMs = 0;
  private cooldownTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private readonly queue = new FairQueue<Waiter>();
  private readonly deadlineLists = new Map<number, DeadlineList>();
  private readonly signalGroups = new Map<AbortSignal, SignalGroup>();
  private idleResolvers: (() => void)[] = [];
  private readonly events: BudgetEvents;

  constructor(
    readonly key: string,
    limit: number,
  ) {
    checkBudgetKey(key, 'A lease budget');
    this.currentLimit = checkLimit(key, limit);
    this.events = new BudgetEvents(key);
  }

  get limit(): number {
    return this.currentLimit;
  }

  get active(): number {
    return this.activeCount;
  }

  get pending(): number {
    return this.queue.size;
  }

  get cooldownUntil(): number {
    return this.cooldownUntilMs;
  }

  acquire(options?: AcquireOptions): Promise<Lease> {
    const early = rejectionBeforeQueue(this.key, options);
    if (early !== undefined) {
      if (early.aborted) this.emitRejected(options?.session, early.reason);
      return Promise.reject(early.reason);
    }

    // Fast path: a free slot and nobody ahead. One resolved promise, no queue node.
    if (this.queue.size === 0 && this.cooldownUntilMs === 0 && this.hasFreeSlot()) {
      return Promise.resolve(this.grant(performance.now(), 0, options?.session));
    }
    return this.enqueue(options, options?.signal);
  }

  resize(limit: number): void {
    const previous = this.currentLimit;
    this.currentLimit = checkLimit(this.key, limit);
    if (this.events.has('resized')) {
      this.emit('resized', { key: this.key, limit: this.currentLimit, previous });
    }

    // Lowering only stops grants; held leases run to their end. Raising grants waiters now.
    this.drain();
  }

  cooldown(untilMs: number, reason: string): void {
    checkCooldownUntil(this.key, untilMs);

    // One shared deadline: a later one extends it, an earlier or past one changes nothing.
    const now = Date.now();
    if (untilMs <= this.cooldownUntilMs || untilMs <= now) return;
    this.cooldownUntilMs = untilMs;
    if (this.cooldownTimer !== undefined) clearTimeout(this.cooldownTimer);
    this.cooldownTimer = setTimeout(() => this.endCooldown(), clampDelay(untilMs - now));
    this.syncCooldownRef();
    if (this.events.has('cooldown')) {
      this.emit('cooldown', { key: this.key, untilMs, reason });
    }
  }

  onIdle(): Promise<void> {
    if (this.activeCount === 0 && this.queue.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleResolvers.push(resolve));
  }

  on<E extends BudgetEventName>(event: E, listener: Listener<E>): () => void {
    return this.events.on(event, listener);
  }

  /** Called by a lease, once. */
  releaseLease(lease: LeaseImpl): void {
    this.activeCount--;
    if (this.events.has('released')) {
      this.emit('released', {
        key: this.key,
        leaseId: lease.id,
        heldMs: performance.now() - lease.acquiredAt,
        active: this.activeCount,
      });
    }
    this.drain();
    this.checkIdle();
  }

  /**
   * Takes a waiter out of the queue because its signal aborted or its queue timeout passed. It
   * rejects at once and never holds a lease. A no-op when the waiter already left or was granted.
   */
  leave(waiter: Waiter, reason: unknown): void {
    const session = FairQueue.sessionOf(waiter);
    if (!this.queue.remove(waiter)) return;
    this.unwatch(waiter);
    waiter.resolve(Promise.reject(reason));
    this.emitRejected(session, reason);
    this.syncCooldownRef();
    this.checkIdle();
  }

  /** Every waiter of an aborted signal leaves, in queue order, with the signal's reason. */
  abortGroup(group: SignalGroup): void {
    const reason = group.signal.reason;
    while (group.head !== undefined) this.leave(group.head, reason);
  }

  private enqueue(options: AcquireOptions | undefined, signal: AbortSignal | undefined) {
    // Infinity means "no queue timeout", like 0.
    const requestedMs = options?.timeoutMs ?? 0;
    const timeoutMs = Number.isFinite(requestedMs) ? requestedMs : 0;
    const session = options?.session;
    const watched = signal !== undefined || timeoutMs > 0;
    let waiter!: Waiter;
    const promise = new Promise<Lease>((resolve) => {
      const now = performance.now();
      waiter = watched ? new WatchedWaiter(resolve, now) : new Waiter(resolve, now);
    });
    this.queue.push(waiter, session, options?.priority ?? 0, options?.share ?? 1);

    if (waiter instanceof WatchedWaiter) {
      if (signal !== undefined) this.addToSignalGroup(waiter, signal);
      if (timeoutMs > 0) this.addDeadline(waiter, timeoutMs);
    }

    this.syncCooldownRef();
    if (this.events.has('queued')) {
      this.emit('queued', { key: this.key, session, pending: this.queue.size });
    }

    const onQueued = options?.onQueued;
    if (onQueued !== undefined) {
      try {
        onQueued();
      } catch (error) {
        this.leave(waiter, error);
      }
    }
    return promise;
  }

  /**
   * Grants waiters while there are free slots and no cooldown. This and the fast path are the
   * only places a lease is created, and both check `active < limit` first, so in-flight never
   * passes the limit at a grant (after a resize down it may stay above until leases end). A
   * waiter leaves the queue before it is resolved, so a granted waiter can no longer be aborted
   * or timed out, and an aborted or timed-out one can no longer be granted.
   */
  private drain(): void {
    while (this.queue.size > 0 && this.cooldownUntilMs === 0 && this.hasFreeSlot()) {
      const waiter = this.queue.shift()!;
      const session = this.queue.shiftedSession;
      this.unwatch(waiter);
      const now = performance.now();
      waiter.resolve(this.grant(now, now - waiter.enqueuedAt, session));
    }
    this.syncCooldownRef();
  }

  private grant(now: number, waitedMs: number, session: string | undefined): LeaseImpl {
    this.activeCount++;
    const lease = new LeaseImpl(this, this.nextLeaseId++, this.key, now, waitedMs);
    if (this.events.has('acquired')) {
      this.emit('acquired', {
        key: this.key,
        leaseId: lease.id,
        session,
        waitedMs,
        active: this.activeCount,
      });
    }
    return lease;
  }

  private hasFreeSlot(): boolean {
    return this.currentLimit === 0 || this.activeCount < this.currentLimit;
  }

  private unwatch(waiter: Waiter): void {
    if (!(waiter instanceof WatchedWaiter)) return;
    if (waiter.signalGroup !== undefined) this.removeFromSignalGroup(waiter);
    if (waiter.deadlines !== undefined) this.removeDeadline(waiter);
  }

  private addToSignalGroup(watch: WatchedWaiter, signal: AbortSignal): void {
    let group = this.signalGroups.get(signal);
    if (group === undefined) {
      group = new SignalGroup(this, signal);
      this.signalGroups.set(signal, group);
      signal.addEventListener('abort', group);
    }

    watch.signalGroup = group;
    watch.signalPrev = group.tail;
    if (group.tail === undefined) group.head = watch;
    else group.tail.signalNext = watch;
    group.tail = watch;
  }

  private removeFromSignalGroup(watch: WatchedWaiter): void {
    const group = watch.signalGroup!;
    if (watch.signalPrev === undefined) group.head = watch.signalNext;
    else watch.signalPrev.signalNext = watch.signalNext;
    if (watch.signalNext === undefined) group.tail = watch.signalPrev;
    else watch.signalNext.signalPrev = watch.signalPrev;
    watch.signalNext = undefined;
    watch.signalPrev = undefined;
    watch.signalGroup = undefined;

    // The last waiter of a signal takes the listener with it: nothing of the budget stays
    // reachable from a long-lived signal.
    if (group.head === undefined) {
      group.signal.removeEventListener('abort', group);
      this.signalGroups.delete(group.signal);
    }
  }

  private addDeadline(watch: WatchedWaiter, timeoutMs: number): void {
    let list = this.deadlineLists.get(timeoutMs);
    if (list === undefined) {
      list = new DeadlineList(timeoutMs);
      this.deadlineLists.set(timeoutMs, list);
    }

    // Deadlines run on the monotonic clock: a queue wait is a duration, and a wall-clock jump
    // must neither expire nor extend it. The deadline is enqueuedAt + list.timeoutMs, so a timed
    // acquire reads the clock once (clock reads are syscalls on some VMs and showed up in the
    // bench profile) and stores no deadline of its own.
    watch.deadlines = list;
    watch.deadlinePrev = list.tail;
    if (list.tail === undefined) list.head = watch;
    else list.tail.deadlineNext = watch;
    list.tail = watch;
    if (list.timer === undefined) this.armDeadlines(list, timeoutMs);
  }

  private removeDeadline(watch: WatchedWaiter): void {
    const list = watch.deadlines!;
    if (watch.deadlinePrev === undefined) list.head = watch.deadlineNext;
    else watch.deadlinePrev.deadlineNext = watch.deadlineNext;
    if (watch.deadlineNext === undefined) list.tail = watch.deadlinePrev;
    else watch.deadlineNext.deadlinePrev = watch.deadlinePrev;
    watch.deadlineNext = undefined;
    watch.deadlinePrev = undefined;
    watch.deadlines = undefined;

    // An empty list stops its timer. A non-empty one keeps it even when the head left: the timer
    // then fires early, finds nothing due, and re-arms for the new head.
    if (list.head === undefined) {
      clearTimeout(list.timer);
      list.timer = undefined;
      this.deadlineLists.delete(list.timeoutMs);
    }
  }

  private armDeadlines(list: DeadlineList, delayMs: number): void {
    list.timer = setTimeout(() => this.expireDeadlines(list), clampDelay(delayMs));
  }

  private expireDeadlines(list: DeadlineList): void {
    list.timer = undefined;
    const now = performance.now();
    // Node timers run on a millisecond loop clock and may fire a fraction of a ms before the
    // performance.now() deadline; within 1 ms counts as due, rather than arming another timer.
    while (list.head !== undefined && list.head.enqueuedAt + list.timeoutMs - now < 1) {
      this.leave(list.head, this.queueTimeoutError(list.timeoutMs));
    }
    if (list.head !== undefined) {
      this.armDeadlines(list, list.head.enqueuedAt + list.timeoutMs - now);
    }
  }

  private queueTimeoutError(timeoutMs: number): SluiceError {
    const cap = this.currentLimit === 0 ? 'no cap' : `limit ${this.currentLimit}`;
    const cooling =
      this.cooldownUntilMs > 0
        ? `, cooling down until ${new Date(this.cooldownUntilMs).toISOString()}`
        : '';
    return new SluiceError({
      kind: 'queue-timeout',
      phase: 'queue',
      message:
        `Waited ${timeoutMs} ms in the queue of budget "${this.key}" without getting a lease ` +
        `(${cap}, ${this.activeCount} active, ${this.queue.size} waiting${cooling}).`,
      hint: 'Raise timeouts.queueMs, send fewer parallel requests, or raise maxConcurrency if the provider really serves more.',
    });
  }

  private endCooldown(): void {
    this.cooldownTimer = undefined;
    const remainingMs = this.cooldownUntilMs - Date.now();
    if (remainingMs > 0) {
      this.cooldownTimer = setTimeout(() => this.endCooldown(), clampDelay(remainingMs));
      this.syncCooldownRef();
      return;
    }
    this.cooldownUntilMs = 0;
    this.drain();
  }

  /**
   * The cooldown timer keeps the process alive only while someone waits for it: a cooldown with
   * an empty queue must not hold a finished CLI open for a minute.
   */
  private syncCooldownRef(): void {
    const timer = this.cooldownTimer;
    if (timer === undefined || typeof timer !== 'object') return;
    if (this.queue.size > 0) timer.ref?.();
    else timer.unref?.();
  }

  private checkIdle(): void {
    if (this.activeCount !== 0 || this.queue.size !== 0) return;
    const resolvers = this.idleResolvers;
    if (resolvers.length > 0) {
      this.idleResolvers = [];
      for (const resolve of resolvers) resolve();
    }
    if (this.events.has('idle')) this.emit('idle', { key: this.key });
  }

  private emitRejected(session: string | undefined, reason: unknown): void {
    if (this.events.has('rejected')) {
      this.emit('rejected', { key: this.key, session, reason });
    }
  }

  private emit<E extends BudgetEventName>(event: E, payload: BudgetEventMap[E]): void {
    this.events.emit(event, payload);
  }
}

/**
 * Node turns a delay above 2^31 - 1 ms into 1 ms (with a warning). Long waits are therefore split:
 * the timer fires at the clamp, finds the deadline not yet due, and re-arms for the rest.
 */
function clampDelay(delayMs: number): number {
  return Math.min(Math.max(0, delayMs), 2_147_483_647);
}

/**
 * Validates a cooldown's end: a finite epoch time in ms. `Infinity` would pause the budget for
 * good, so every queued and later acquire would wait forever. Shared by every Budget
 * implementation.
 */
export function checkCooldownUntil(key: string, untilMs: unknown): asserts untilMs is number {
  if (typeof untilMs === 'number' && Number.isFinite(untilMs)) return;
  throw new SluiceError({
    kind: 'config',
    message: `Budget "${key}": cooldown needs a finite epoch time in ms, got ${describe(untilMs)}.`,
    hint: 'Pass Date.now() + the wait in ms, e.g. from the Retry-After header.',
  });
}

/**
 * Validates a budget key: a non-empty string. Throws a `config` SluiceError that says which kind
 * of budget (`what`) got which value. Shared by every Budget implementation.
 */
export function checkBudgetKey(key: unknown, what: string): asserts key is string {
  if (typeof key === 'string' && key.length > 0) return;
  throw new SluiceError({
    kind: 'config',
    phase: 'config',
    message: `${what} needs a non-empty string key, got ${describe(key)}.`,
    hint: 'Pass the budget key of the route (provider instance + credential).',
  });
}

/**
 * Validates a budget limit: an integer >= 0 (0 = no cap). Throws a `config` SluiceError naming the
 * budget key and the value. Shared by every Budget implementation.
 */
export function checkLimit(key: string, limit: unknown): number {
  if (typeof limit === 'number' && Number.isInteger(limit) && limit >= 0) return limit;
  throw new SluiceError({
    kind: 'config',
    phase: 'config',
    message: `Budget "${key}": limit must be an integer >= 0 (0 = no cap), got ${describe(limit)}.`,
    hint: 'Set maxConcurrency to a whole number such as 3, or 0 for no client-side cap.',
  });
}

/**
 * Why an acquire fails before it may queue, if it does: its signal is already aborted (the
 * signal's reason; `aborted` true, reported as a `rejected` event) or an option is bad (a `config`
 * SluiceError). Undefined for an acquire that may go on. Shared by every Budget implementation.
 */
export function rejectionBeforeQueue(
  key: string,
  options: AcquireOptions | undefined,
): { reason: unknown; aborted: boolean } | undefined {
  if (options === undefined) return undefined;
  const abort = options.abort ?? options.signal;
  if (abort?.aborted) return { reason: abort.reason, aborted: true };
  const problem = checkAcquireOptions(key, options);
  return problem === undefined ? undefined : { reason: problem, aborted: false };
}

/**
 * Validates acquire options (priority, timeoutMs, session, share); returns the `config`
 * SluiceError naming the field, or undefined. Shared by every Budget implementation.
 */
export function checkAcquireOptions(key: string, options: AcquireOptions): SluiceError | undefined {
  const { priority, timeoutMs, session, share } = options;
  if (share !== undefined && !(typeof share === 'number' && Number.isFinite(share) && share > 0)) {
    return acquireOptionError(key, 'share', share, 'a finite number > 0 (grants per round)');
  }
  if (priority !== undefined && !(typeof priority === 'number' && Number.isFinite(priority))) {
    return acquireOptionError(key, 'priority', priority, 'a finite number (higher goes first)');
  }
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
    return acquireOptionError(key, 'timeoutMs', timeoutMs, 'a number of ms >= 0 (0 = no limit)');
  }
  if (session !== undefined && typeof session !== 'string') {
    return acquireOptionError(key, 'session', session, 'a session id string');
  }
  return undefined;
}

function acquireOptionError(key: string, field: string, value: unknown, expected: string) {
  return new SluiceError({
    kind: 'config',
    message: `Budget "${key}": acquire option ${field} must be ${expected}, got ${describe(value)}.`,
  });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  return typeof value;
}
