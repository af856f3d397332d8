import { BudgetEvents, SluiceError, checkCooldownUntil } from '@sluice/core';
import type {
  AcquireOptions,
  Budget,
  BudgetBackend,
  BudgetEventMap,
  BudgetEventName,
  Lease,
  SluiceEvent,
} from '@sluice/core';

import {
  BUDGET_PROTOCOL_VERSION,
  FrameBatcher,
  fromWireError,
  type ClientFrame,
  type FrameChannel,
  type ServerFrame,
  type WireBudgetState,
  type WireError,
} from '../protocol/budget-protocol.js';
import { checkHandshakeTimeout } from '../util/check-options.js';

/** Options of {@link createRemoteBudgetBackend}. */
export interface RemoteBudgetBackendOptions {
  /** `Budget.backend` of the budgets it opens: `ipc` (workers, child processes) or `socket`. */
  name: string;
  /** Names the owner in errors: `the parent thread`, `the budget broker at unix:/run/x.sock`. */
  owner: string;
  /** What the user should do once the owner is gone; ends every `budget-unavailable` message. */
  hint?: string;
  /**
   * How long to wait for the owner's answer to the handshake before failing every acquire with
   * `budget-unavailable`, in ms. Default 5000. Guards against a channel nobody serves (for
   * example a grandchild that inherited `SLUICE_BUDGET` from its parent).
   */
  handshakeTimeoutMs?: number;
}

/** A {@link BudgetBackend} whose budgets live in another thread or process. */
export interface RemoteBudgetBackend extends BudgetBackend {
  /** True once the owner answered the handshake and until the channel closes. */
  readonly connected: boolean;
  /** Why the channel closed; undefined while it is usable. */
  readonly closedReason: string | undefined;
  /** Resolves once the owner answered the handshake; rejects with `budget-unavailable` if not. */
  ready(): Promise<void>;
  /**
   * Aborts when the owner cancels the session this side is bound to (`session.cancel()` in the
   * parent). Pass it to `router.chat({ signal })` so a cancel reaches requests that already hold
   * a lease. A cancel is permanent: every read after it returns the same aborted signal, and
   * every acquire from then on (waiting or new) rejects at once with an `aborted` SluiceError
   * naming the session, without asking the owner.
   */
  readonly cancelSignal: AbortSignal;
  /** True once the owner cancelled this side's session (for good). */
  readonly cancelled: boolean;
  /**
   * Sends `router`'s telemetry to the owner from now on, so the parent's per-session accounting
   * (requests, time to first token, tokens, failures) covers this side too. Returns the
   * function that stops it. Call it before the first request, so no grant is counted twice.
   */
  forwardEvents(router: EventSource): () => void;
  /** The owner's view of every budget it holds. */
  stats(): Promise<WireBudgetState[]>;
  /** Closes the channel. The owner frees this side's leases and withdraws its waiters. */
  close(): Promise<void>;
}

/** Anything with a router's `subscribe`. */
export interface EventSource {
  subscribe(listener: (event: SluiceEvent) => void): () => void;
}

const DEFAULT_HINT =
  'Restart the parent that owns the budget, or create the router without attachBudget() to use a budget of its own.';

interface PendingAcquire {
  budget: RemoteBudget;
  startedAt: number;
  resolve: (lease: Lease) => void;
  reject: (error: unknown) => void;
  queued: boolean;
  onQueued: (() => void) | undefined;
  detach: (() => void) | undefined;
}

/**
 * The borrowing side of the budget protocol. Every budget it opens forwards acquire, release,
 * resize and cooldown to the owner; `active`, `pending`, `limit` and `cooldownUntil` are the
 * owner's figures as last reported (at most one event-loop turn old while frames flow).
 *
 * Once the channel closes, every waiting acquire and every later one rejects at once with a
 * `budget-unavailable` SluiceError naming what went away: it never hangs.
 *
 * @throws SluiceError kind `config` when `handshakeTimeoutMs` is not a number of ms from 1 to
 *   2147483647.
 */
export function createRemoteBudgetBackend(
  channel: FrameChannel<ServerFrame, ClientFrame>,
  options: RemoteBudgetBackendOptions,
): RemoteBudgetBackend {
  checkHandshakeTimeout('createRemoteBudgetBackend', options.handshakeTimeoutMs);
  const budgets = new Map<string, RemoteBudget>();
  const pending = new Map<number, PendingAcquire>();
  const pendingStats = new Map<number, (states: WireBudgetState[]) => void>();
  // Releases are gathered into one frame per turn (under load they are half of all traffic) and
  // go first, so an acquire sent in the same turn can take a lease released in it.
  let releaseIds: number[] = [];
  const batcher = new FrameBatcher<ClientFrame>(
    (frames) => channel.send(frames),
    (frames) => {
      if (releaseIds.length === 0) return;
      frames.unshift(['release', ...releaseIds]);
      releaseIds = [];
    },
  );
  let nextRequestId = 1;
  let awaited = 0;
  let connected = false;
  let closedReason: string | undefined;
  let refusal: SluiceError | undefined;
  const readyWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  const cancelController = new AbortController();
  // Set once the owner cancels this side's session: what every acquire rejects with from then on.
  let cancelled: SluiceError | undefined;

  // The channel keeps the process alive only while an answer is awaited, so an idle worker or
  // child can exit on its own like any process with nothing left to do.
  const expect = (): void => {
    if (awaited++ === 0) channel.ref();
  };
  const settle = (): void => {
    if (--awaited === 0) channel.unref();
  };

  const unavailable = (key: string | undefined): SluiceError =>
    refusal ??
    new SluiceError({
      kind: 'budget-unavailable',
      phase: 'queue',
      retryable: false,
      message: `${key === undefined ? 'The budgets belong' : `Budget "${key}" belongs`} to ${options.owner}, and ${closedReason ?? 'it did not answer'}, so no lease can be granted.`,
      hint: options.hint ?? DEFAULT_HINT,
    });

  const link: RemoteLink = {
    send: (frame) => batcher.push(frame),
    health() {
      if (closedReason !== undefined) {
        return { state: 'down', detail: `${options.owner}: ${closedReason}` };
      }
      if (!connected)
        return { state: 'degraded', detail: `waiting for ${options.owner} to answer` };
      return { state: 'ok' };
    },
    release(id) {
      releaseIds.push(id);
      batcher.schedule();
    },
    isClosed: () => closedReason !== undefined,
    cancelled: () => cancelled,
    unavailable,
    startAcquire(budget, acquireOptions) {
      const id = nextRequestId++;
      return new Promise<Lease>((resolve, reject) => {
        const entry: PendingAcquire = {
          budget,
          startedAt: performance.now(),
          resolve,
          reject,
          queued: false,
          onQueued: acquireOptions.onQueued,
          detach: undefined,
        };
        const signal = acquireOptions.signal;
        if (signal) {
          const onAbort = (): void => {
            if (!pending.delete(id)) return;
            batcher.push(['cancel', id]);
            settle();
            budget.emit('rejected', {
              key: budget.key,
              session: acquireOptions.session,
              reason: signal.reason,
            });
            reject(signal.reason);
          };
          signal.addEventListener('abort', onAbort, { once: true });
          entry.detach = () => signal.removeEventListener('abort', onAbort);
        }
        pending.set(id, entry);
        expect();
        pushAcquire(id, budget, acquireOptions);

        // `onQueued` is synchronous by contract. The owner's figures say whether this acquire
        // will queue; if they were stale, the owner's `queued` frame calls it a moment later.
        if (budget.wouldQueue()) markQueued(entry, acquireOptions.session);
      });
    },
  };

  // Appends to the acquire frame queued last when the options match, so a burst of acquires
  // (a fleet starting up, a benchmark) costs one id each on the wire.
  function pushAcquire(id: number, budget: RemoteBudget, acquireOptions: AcquireOptions): void {
    const priority = acquireOptions.priority ?? null;
    const session = acquireOptions.session ?? null;
    const timeoutMs = acquireOptions.timeoutMs ?? null;
    const last = batcher.last();
    if (
      last?.[0] === 'acquire' &&
      last[1] === budget.key &&
      last[2] === budget.requestedLimit &&
      last[3] === priority &&
      last[4] === session &&
      last[5] === timeoutMs
    ) {
      last.push(id);
      return;
    }
    batcher.push(['acquire', budget.key, budget.requestedLimit, priority, session, timeoutMs, id]);
  }

  function markQueued(entry: PendingAcquire, session: string | undefined): void {
    if (entry.queued) return;
    entry.queued = true;
    entry.onQueued?.();
    entry.budget.emit('queued', {
      key: entry.budget.key,
      session,
      pending: entry.budget.pending + 1,
    });
  }

  function onGranted(id: number): void {
    const entry = pending.get(id);
    if (!entry) {
      // Granted after this side withdrew: the owner also releases on `cancel`, this covers a
      // grant that crossed the cancel on the wire.
      link.release(id);
      return;
    }
    pending.delete(id);
    entry.detach?.();
    settle();
    const lease = entry.budget.grant(id, performance.now() - entry.startedAt);
    entry.resolve(lease);
  }

  function onRejected(id: number, wire: WireError): void {
    const entry = pending.get(id);
    if (!entry) return;
    pending.delete(id);
    entry.detach?.();
    settle();
    const error = fromWireError(wire);
    entry.budget.emit('rejected', { key: entry.budget.key, reason: error });
    entry.reject(error);
  }

  function handle(frame: ServerFrame): void {
    switch (frame[0]) {
      case 'welcome':
        connected = true;
        for (const waiter of readyWaiters.splice(0)) waiter.resolve();
        return;
      case 'refused':
        refusal = fromWireError(frame[1]);
        channel.close();
        return;
      case 'queued': {
        const entry = pending.get(frame[1]);
        if (entry) markQueued(entry, undefined);
        return;
      }
      case 'granted':
        for (let index = 1; index < frame.length; index++) onGranted(frame[index] as number);
        return;
      case 'rejected':
        onRejected(frame[1], frame[2]);
        return;
      case 'state': {
        const [, key, limit, active, pendingCount, cooldownUntil] = frame;
        budgets.get(key)?.applyState({ key, limit, active, pending: pendingCount, cooldownUntil });
        return;
      }
      case 'resized': {
        const [, key, limit, previous] = frame;
        budgets.get(key)?.emit('resized', { key, limit, previous });
        return;
      }
      case 'cooldown': {
        const [, key, untilMs, reason] = frame;
        budgets.get(key)?.emit('cooldown', { key, untilMs, reason });
        return;
      }
      case 'cancelled': {
        // Sent again to a peer that attaches again; the first one counts.
        if (cancelled) return;
        cancelled = new SluiceError({
          kind: 'aborted',
          phase: 'queue',
          message: `${upperFirst(options.owner)} cancelled this session: ${frame[1]}. A cancelled session takes no new requests.`,
          hint: 'A cancel is permanent: the parent has to start a new session for new work.',
        });
        // Waiting acquires end now; the owner withdraws them too (and releases a lease that
        // crossed this on the wire: see onGranted).
        for (const [id, entry] of [...pending]) {
          pending.delete(id);
          entry.detach?.();
          batcher.push(['cancel', id]);
          settle();
          entry.budget.emit('rejected', { key: entry.budget.key, reason: cancelled });
          entry.reject(cancelled);
        }
        cancelController.abort(cancelled);
        return;
      }
      case 'stats': {
        const resolve = pendingStats.get(frame[1]);
        pendingStats.delete(frame[1]);
        resolve?.(frame[2]);
        return;
      }
    }
  }

  function shutDown(reason: string): void {
    if (closedReason !== undefined) return;
    closedReason = reason;
    connected = false;
    clearTimeout(handshakeTimer);
    for (const entry of pending.values()) {
      entry.detach?.();
      entry.reject(unavailable(entry.budget.key));
    }
    pending.clear();
    for (const resolve of pendingStats.values()) resolve([]);
    pendingStats.clear();
    for (const waiter of readyWaiters.splice(0)) waiter.reject(unavailable(undefined));
    // The owner freed every lease of this side when the channel dropped.
    for (const budget of budgets.values()) budget.orphan();
    if (awaited > 0) channel.unref();
    awaited = 0;
  }

  channel.onFrames((frames) => {
    for (const frame of frames) handle(frame);
  });
  channel.onClose((reason) => shutDown(reason));
  channel.unref();
  batcher.push(['hello', BUDGET_PROTOCOL_VERSION, process.pid]);

  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5000;
  const handshakeTimer = setTimeout(() => {
    if (connected || closedReason !== undefined) return;
    shutDown(`it did not answer the handshake within ${handshakeTimeoutMs} ms`);
    channel.close();
  }, handshakeTimeoutMs);
  handshakeTimer.unref();

  return {
    name: options.name,
    get connected() {
      return connected;
    },
    get closedReason() {
      return closedReason;
    },
    get cancelSignal() {
      return cancelController.signal;
    },
    get cancelled() {
      return cancelled !== undefined;
    },
    open(key, openOptions) {
      const existing = budgets.get(key);
      if (existing) return existing;
      const budget = new RemoteBudget(key, openOptions.limit, options.name, link);
      budgets.set(key, budget);
      if (closedReason === undefined) batcher.push(['open', key, openOptions.limit]);
      return budget;
    },
    ready() {
      if (connected) return Promise.resolve();
      if (closedReason !== undefined) return Promise.reject(unavailable(undefined));
      expect();
      return new Promise<void>((resolve, reject) => readyWaiters.push({ resolve, reject })).finally(
        settle,
      );
    },
    forwardEvents(router) {
      // An empty frame first: the owner stops counting grants itself before any event arrives.
      batcher.push(['events']);
      return router.subscribe((event) => {
        if (closedReason !== undefined) return;
        const last = batcher.last();
        if (last?.[0] === 'events') last.push(event);
        else batcher.push(['events', event]);
      });
    },
    stats() {
      if (closedReason !== undefined) return Promise.reject(unavailable(undefined));
      const id = nextRequestId++;
      expect();
      batcher.push(['stats', id]);
      return new Promise<WireBudgetState[]>((resolve) => pendingStats.set(id, resolve)).finally(
        settle,
      );
    },
    async close() {
      batcher.flush();
      channel.close();
      shutDown('this process closed its budget connection');
    },
  };
}

/** What a remote budget needs from its backend. */
interface RemoteLink {
  send(frame: ClientFrame): void;
  health(): BudgetHealth;
  /** Queues the release of the lease of acquire `id`. */
  release(id: number): void;
  isClosed(): boolean;
  /** What acquires reject with once the owner cancelled this side's session. */
  cancelled(): SluiceError | undefined;
  unavailable(key: string): SluiceError;
  startAcquire(budget: RemoteBudget, options: AcquireOptions): Promise<Lease>;
}

type Listener<E extends BudgetEventName> = (payload: BudgetEventMap[E]) => void;
type BudgetHealth = NonNullable<Budget['health']>;

/** A budget owned elsewhere; figures are the owner's as last reported. */
class RemoteBudget implements Budget {
  readonly backend: string;
  limit: number;
  active = 0;
  pending = 0;
  cooldownUntil = 0;
  private readonly events: BudgetEvents;
  private readonly leases = new Set<RemoteLease>();
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly key: string,
    readonly requestedLimit: number,
    backend: string,
    private readonly link: RemoteLink,
  ) {
    this.limit = requestedLimit;
    this.backend = backend;
    this.events = new BudgetEvents(key);
  }

  /** `ok` while the owner answers, `degraded` before its first answer, `down` once it is gone. */
  get health(): BudgetHealth {
    return this.link.health();
  }

  acquire(options: AcquireOptions = {}): Promise<Lease> {
    if (this.link.isClosed()) return Promise.reject(this.link.unavailable(this.key));
    const cancelled = this.link.cancelled();
    if (cancelled) return Promise.reject(cancelled);
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    return this.link.startAcquire(this, options);
  }

  resize(limit: number): void {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new SluiceError({
        kind: 'config',
        message: `Budget "${this.key}": resize() needs an integer >= 0, got ${String(limit)}.`,
      });
    }
    this.link.send(['resize', this.key, limit]);
  }

  cooldown(untilMs: number, reason: string): void {
    checkCooldownUntil(this.key, untilMs);
    if (untilMs > this.cooldownUntil) this.cooldownUntil = untilMs;
    this.link.send(['cooldown', this.key, untilMs, reason]);
  }

  onIdle(): Promise<void> {
    if (this.isIdle() || this.link.isClosed()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  on<E extends BudgetEventName>(event: E, listener: Listener<E>): () => void {
    return this.events.on(event, listener);
  }

  /** @internal */
  emit<E extends BudgetEventName>(event: E, payload: BudgetEventMap[E]): void {
    this.events.emit(event, payload);
  }

  /** @internal Whether a new acquire will queue at the owner, judging by the last figures. */
  wouldQueue(): boolean {
    const capped = this.limit > 0 && this.active >= this.limit;
    return capped || this.pending > 0 || this.cooldownUntil > Date.now();
  }

  /** @internal */
  grant(wireId: number, waitedMs: number): Lease {
    const lease = new RemoteLease(wireId, this, waitedMs);
    this.leases.add(lease);
    this.active++;
    this.emit('acquired', { key: this.key, leaseId: wireId, waitedMs, active: this.active });
    return lease;
  }

  /** @internal */
  released(lease: RemoteLease): void {
    this.leases.delete(lease);
    if (this.link.isClosed()) return;
    this.link.release(lease.id);
    this.active = Math.max(0, this.active - 1);
    this.emit('released', {
      key: this.key,
      leaseId: lease.id,
      heldMs: performance.now() - lease.acquiredAt,
      active: this.active,
    });
  }

  /** @internal */
  applyState(state: WireBudgetState): void {
    const wasIdle = this.isIdle();
    this.limit = state.limit;
    this.active = state.active;
    this.pending = state.pending;
    this.cooldownUntil = state.cooldownUntil;
    if (!wasIdle && this.isIdle()) this.emit('idle', { key: this.key });
    if (this.isIdle()) this.wakeIdle();
  }

  /** @internal The owner dropped this side: its leases are already free there. */
  orphan(): void {
    for (const lease of this.leases) lease.orphan();
    this.leases.clear();
    this.active = 0;
    this.pending = 0;
    this.wakeIdle();
  }

  private isIdle(): boolean {
    return this.active === 0 && this.pending === 0;
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

class RemoteLease implements Lease {
  readonly acquiredAt = performance.now();
  private isReleased = false;

  constructor(
    readonly id: number,
    private readonly budget: RemoteBudget,
    readonly waitedMs: number,
  ) {}

  get budgetKey(): string {
    return this.budget.key;
  }

  get released(): boolean {
    return this.isReleased;
  }

  release(): void {
    if (this.isReleased) return;
    this.isReleased = true;
    this.budget.released(this);
  }

  /** @internal */
  orphan(): void {
    this.isReleased = true;
  }
}

function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
