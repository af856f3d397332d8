import {
  BudgetEvents,
  SluiceError,
  checkCooldownUntil,
  checkLimit,
  rejectionBeforeQueue,
} from '@sluice/core';
import type { AcquireOptions, Budget, BudgetEventMap, BudgetEventName, Lease } from '@sluice/core';

import { LocalFairQueue } from './local-fair-queue.js';
import { decodeSyncReply, type SyncReply } from './redis-scripts.js';

/** Where a Redis budget stands, as the backend sees its connection. @internal */
export type LinkState = 'connecting' | 'ok' | 'recovering' | 'reconnecting' | 'down' | 'closed';

/** What a {@link RedisBudget} needs from its backend. @internal */
export interface RedisLink {
  /** Random id of this backend; prefixes its ticket and lease ids and its wake messages. */
  readonly id: string;
  readonly state: LinkState;
  /** The epoch this backend last confirmed ('' before the first connect). */
  readonly epoch: string;
  readonly leaseTtlMs: number;
  readonly onUnavailable: 'fail' | 'local-cap-1';
  /** The URL without password, for messages. */
  readonly displayUrl: string;
  readonly lastError: string | undefined;
  /** Runs the sync script for `key`. */
  sync(key: string, args: SyncArgs): Promise<unknown>;
  /** The data set was lost or replaced; run the recovery of every budget. */
  epochChanged(): void;
  unavailableError(key: string): SluiceError;
}

/** What one budget sends in a sync round trip. @internal */
export interface SyncArgs {
  limit: number;
  /** `open`: stricter limit wins; `init`: set only when missing; `set`: overwrite (resize). */
  limitMode: 'open' | 'init' | 'set';
  /** A cooldown to share, as ms from now. */
  cooldownInMs: number | undefined;
  /** held, releases, removes, ensure, checks: ids, in the script's order. */
  lists: [string[], string[], string[], string[], string[]];
}

/** Cluster-wide figures of a Redis budget as last seen by this process. */
export interface RedisBudgetCluster {
  /** Leases held by all processes. */
  active: number;
  /** Acquires queued in Redis by all processes. */
  waiting: number;
}

/**
 * A {@link Budget} whose count lives in Redis: `limit`, the cooldown and the FIFO line are
 * shared by every process on the same Redis and key. `active` and `pending` count THIS
 * process's leases and waiters (so `onIdle()` means this process is done); `cluster` has the
 * figures of all processes as of the last round trip.
 */
export interface RedisBudget extends Budget {
  readonly backend: 'redis';
  /** `ok`; `degraded` while reconnecting or on the local fallback cap; `down` when failing. */
  readonly health: { state: 'ok' | 'degraded' | 'down'; detail?: string };
  readonly cluster: RedisBudgetCluster;
}

type Listener<E extends BudgetEventName> = (payload: BudgetEventMap[E]) => void;

interface Waiter {
  resolve: (lease: Lease) => void;
  reject: (reason: unknown) => void;
  session: string | undefined;
  enqueuedAt: number;
  onQueued: (() => void) | undefined;
  notified: boolean;
  /** In the local queue (false once granted, timed out, aborted or failed). */
  queued: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface Ticket {
  id: string;
  /** Sent to Redis by a call that succeeded (or is in flight). */
  sent: boolean;
}

class RedisLease implements Lease {
  released = false;

  constructor(
    private readonly budget: RedisBudgetImpl,
    readonly id: number,
    readonly redisId: string,
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

/** @internal Created by `redisBudgetBackend().open()`. */
export class RedisBudgetImpl implements RedisBudget {
  readonly backend = 'redis' as const;

  private currentLimit: number;
  private limitMode: 'open' | 'init' | 'set' = 'open';
  private pendingCooldownMs: number | undefined = undefined;
  private cooldownUntilMs = 0;
  private cooldownTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private readonly queue = new LocalFairQueue<Waiter>();
  private tickets: Ticket[] = [];
  private readonly held = new Map<string, RedisLease>();
  private pendingReleases: string[] = [];
  private pendingRemoves: string[] = [];
  private heartbeatDue = false;
  private inFlight: Promise<void> | undefined = undefined;
  private dirty = false;
  private recheckTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private nextNumber = 1;
  private clusterActive = 0;
  private clusterWaiting = 0;
  private idleResolvers: (() => void)[] = [];
  /** Waiters whose acquire guessed "a slot is free" and that were not reported queued yet. */
  private unnotified: Waiter[] = [];
  private readonly events: BudgetEvents;

  constructor(
    private readonly link: RedisLink,
    readonly key: string,
    limit: number,
  ) {
    this.currentLimit = checkLimit(key, limit);
    this.events = new BudgetEvents(key);
  }

  get limit(): number {
    return this.currentLimit;
  }

  get active(): number {
    return this.held.size;
  }

  get pending(): number {
    return this.queue.size;
  }

  get cooldownUntil(): number {
    return this.cooldownUntilMs > Date.now() ? this.cooldownUntilMs : 0;
  }

  get cluster(): RedisBudgetCluster {
    return { active: this.clusterActive, waiting: this.clusterWaiting };
  }

  get health(): { state: 'ok' | 'degraded' | 'down'; detail?: string } {
    const where = `Redis at ${this.link.displayUrl}`;
    const why = this.link.lastError ? ` (${this.link.lastError})` : '';
    switch (this.link.state) {
      case 'ok':
        return {
          state: 'ok',
          detail: `${where}: ${this.clusterActive} leases held and ${this.clusterWaiting} waiting across processes.`,
        };
      case 'closed':
        return { state: 'down', detail: `The backend for ${where} was closed.` };
      case 'down': {
        if (this.link.onUnavailable === 'local-cap-1') {
          return {
            state: 'degraded',
            detail: `${where} is unreachable${why}; running on a local cap of 1.`,
          };
        }
        const detail = `${where} is unreachable${why}; acquires fail with budget-unavailable.`;
        return { state: 'down', detail };
      }
      default:
        return { state: 'degraded', detail: `Connecting to ${where}${why}; new leases wait.` };
    }
  }

  acquire(options?: AcquireOptions): Promise<Lease> {
    const signal = options?.signal;
    const early = rejectionBeforeQueue(this.key, options);
    if (early !== undefined) {
      if (early.aborted) this.emitRejected(options?.session, early.reason);
      return Promise.reject(early.reason);
    }
    const state = this.link.state;
    if (state === 'closed' || (state === 'down' && this.link.onUnavailable === 'fail')) {
      const error = this.link.unavailableError(this.key);
      this.emitRejected(options?.session, error);
      return Promise.reject(error);
    }

    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        session: options?.session,
        enqueuedAt: performance.now(),
        onQueued: options?.onQueued,
        notified: false,
        queued: true,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      this.queue.push(waiter, waiter.session, options?.priority ?? 0, options?.share ?? 1);
      this.tickets.push({ id: `${this.link.id}:${this.nextNumber++}`, sent: false });

      const timeoutMs = options?.timeoutMs ?? 0;
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        waiter.timer = setTimeout(
          () => this.leave(waiter, this.queueTimeout(timeoutMs)),
          timeoutMs,
        );
      }
      if (signal !== undefined) {
        waiter.onAbort = () => this.leave(waiter, signal.reason);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }

      // `onQueued` is synchronous by contract, but only Redis knows whether a slot is free. The
      // figures of the last round trip decide; when they were too hopeful, the waiter is
      // reported as queued once the first answer says so.
      if (this.looksFull()) this.notifyQueued(waiter);
      else this.unnotified.push(waiter);
      this.pump();
    });
  }

  resize(limit: number): void {
    const previous = this.currentLimit;
    this.currentLimit = checkLimit(this.key, limit);
    this.limitMode = 'set';
    if (previous !== this.currentLimit) {
      this.emit('resized', { key: this.key, limit: this.currentLimit, previous });
    }
    this.pump(true);
  }

  cooldown(untilMs: number, reason: string): void {
    checkCooldownUntil(this.key, untilMs);
    const now = Date.now();
    if (untilMs <= now || untilMs <= this.cooldownUntilMs) return;
    this.setLocalCooldown(untilMs);
    // Sent as "ms from now", so Redis turns it into its own clock and machines agree.
    this.pendingCooldownMs = Math.max(this.pendingCooldownMs ?? 0, untilMs - now);
    this.emit('cooldown', { key: this.key, untilMs, reason });
    this.pump(true);
  }

  onIdle(): Promise<void> {
    if (this.held.size === 0 && this.queue.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleResolvers.push(resolve));
  }

  on<E extends BudgetEventName>(event: E, listener: Listener<E>): () => void {
    return this.events.on(event, listener);
  }

  /** True while this budget has something Redis must hear about regularly. */
  get needsHeartbeat(): boolean {
    return this.held.size > 0 || this.tickets.length > 0;
  }

  /** Called by a lease, once. */
  releaseLease(lease: RedisLease): void {
    if (this.held.get(lease.redisId) !== lease) return;
    this.held.delete(lease.redisId);
    this.pendingReleases.push(lease.redisId);
    this.emit('released', {
      key: this.key,
      leaseId: lease.id,
      heldMs: performance.now() - lease.acquiredAt,
      active: this.held.size,
    });
    this.pump(true);
    this.checkIdle();
  }

  /** Another process released, resized or purged: look again if anyone here waits. */
  wake(): void {
    if (this.queue.size > 0) this.pump();
  }

  /** Refresh held leases and queued tickets in Redis on the next round trip. */
  heartbeat(): void {
    this.heartbeatDue = true;
    this.pump(true);
  }

  /**
   * Asks Redis for what this process may do now: one round trip at a time per budget, later
   * requests coalesce into the next one. `always` sends even with nobody waiting (releases,
   * resize, cooldown, heartbeat).
   */
  pump(always = false): void {
    const state = this.link.state;
    if (state === 'ok') {
      if (!always && !this.hasWork()) return;
      if (this.inFlight !== undefined) {
        this.dirty = true;
        return;
      }
      this.inFlight = this.runSync(false).finally(() => {
        this.inFlight = undefined;
        if (this.dirty) {
          this.dirty = false;
          this.pump(true);
        }
      });
      return;
    }
    if (state === 'down' && this.link.onUnavailable === 'local-cap-1') this.grantLocally();
  }

  /** Something to tell Redis or to ask it for. */
  private hasWork(): boolean {
    return (
      this.queue.size > 0 ||
      this.pendingRemoves.length > 0 ||
      this.pendingReleases.length > 0 ||
      this.heartbeatDue ||
      this.limitMode === 'set' ||
      this.pendingCooldownMs !== undefined
    );
  }

  /**
   * After a reconnect (or a lost data set): re-registers every live lease with a fresh expiry
   * and puts every waiter back in line, before the backend allows new grants anywhere. Waits
   * for a round trip already under way, so the two never interleave.
   */
  async recover(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
    const run = this.runSync(true);
    this.inFlight = run;
    try {
      await run;
    } finally {
      this.inFlight = undefined;
    }
  }

  /** Redis is gone for good (past the reconnect grace): fail or fall back, per `onUnavailable`. */
  down(): void {
    if (this.link.onUnavailable === 'local-cap-1') {
      this.grantLocally();
      return;
    }
    this.failAll(this.link.unavailableError(this.key));
  }

  /** The backend closes: every waiter fails; returns what Redis should forget. */
  shutdown(error: SluiceError): { leases: string[]; tickets: string[] } {
    this.failAll(error);
    const leases = [...this.pendingReleases, ...this.held.keys()];
    const tickets = [...this.pendingRemoves];
    this.held.clear();
    this.pendingReleases = [];
    this.pendingRemoves = [];
    clearTimeout(this.recheckTimer);
    clearTimeout(this.cooldownTimer);
    this.checkIdle();
    return { leases, tickets };
  }

  private failAll(error: SluiceError): void {
    for (const waiter of this.queue.drain()) {
      this.unwatch(waiter);
      waiter.reject(error);
      this.emitRejected(waiter.session, error);
    }
    for (const ticket of this.tickets) if (ticket.sent) this.pendingRemoves.push(ticket.id);
    this.tickets = [];
    this.unnotified = [];
    this.checkIdle();
  }

  /** Local fallback while Redis is down: at most one lease held by this process. */
  private grantLocally(): void {
    while (this.queue.size > 0 && this.held.size < 1 && this.cooldownUntil === 0) {
      const waiter = this.queue.shift()!;
      this.dropNewestTicket();
      this.grant(waiter, `${this.link.id}:l${this.nextNumber++}`);
    }
  }

  private async runSync(recover: boolean): Promise<void> {
    this.reconcileTickets();

    const full = recover || this.heartbeatDue;
    const heartbeatWas = this.heartbeatDue;
    this.heartbeatDue = false;
    const held = full ? [...this.held.keys()] : [];
    const ensureTickets = full ? this.tickets : this.tickets.filter((ticket) => !ticket.sent);
    for (const ticket of ensureTickets) ticket.sent = true;
    const ensure = ensureTickets.map((ticket) => ticket.id);
    const releases = this.pendingReleases;
    const removes = this.pendingRemoves;
    this.pendingReleases = [];
    this.pendingRemoves = [];
    const checkCount =
      this.currentLimit > 0
        ? Math.min(this.tickets.length, this.currentLimit)
        : this.tickets.length;
    const checks = this.tickets.slice(0, checkCount).map((ticket) => ticket.id);
    const limitMode = this.limitMode;
    this.limitMode = 'init';
    const cooldownMs = this.pendingCooldownMs;
    this.pendingCooldownMs = undefined;

    const restore = () => {
      this.pendingReleases = [...releases, ...this.pendingReleases];
      this.pendingRemoves = [...removes, ...this.pendingRemoves];
      if (this.limitMode === 'init') this.limitMode = limitMode;
      if (this.pendingCooldownMs === undefined) this.pendingCooldownMs = cooldownMs;
      if (heartbeatWas) this.heartbeatDue = true;
      for (const ticket of ensureTickets) ticket.sent = false;
    };

    let reply: SyncReply;
    try {
      const raw = await this.link.sync(this.key, {
        limit: this.currentLimit,
        limitMode,
        cooldownInMs: cooldownMs,
        lists: [held, releases, removes, ensure, checks],
      });
      reply = decodeSyncReply(raw);
    } catch (error) {
      restore();
      // A lost connection is handled by the backend's reconnect; anything else (a timeout, a
      // script error) is retried shortly, never in a tight loop.
      this.scheduleRecheck(250);
      if (recover) throw error;
      return;
    }

    if (reply.status === 2) {
      restore();
      if (recover) throw new Error('The Redis data set changed again during recovery.');
      this.link.epochChanged();
      return;
    }
    this.apply(reply, limitMode, checks.length);
  }

  private apply(reply: SyncReply, sentMode: string, checked: number): void {
    if (this.limitMode !== 'set' && reply.limit !== this.currentLimit) {
      const previous = this.currentLimit;
      this.currentLimit = reply.limit;
      if (sentMode !== 'set') this.emit('resized', { key: this.key, limit: reply.limit, previous });
    }
    this.clusterActive = reply.active;
    this.clusterWaiting = reply.waiting;

    // The shared cooldown, in this machine's clock.
    if (reply.cooldownUntil > 0) {
      const localUntil = Date.now() + (reply.cooldownUntil - reply.serverNow);
      if (localUntil > this.cooldownUntilMs + 50) {
        this.setLocalCooldown(localUntil);
        this.emit('cooldown', {
          key: this.key,
          untilMs: localUntil,
          reason: 'shared through Redis',
        });
      }
    }

    for (const id of reply.granted) {
      const at = this.tickets.findIndex((ticket) => ticket.id === id);
      if (at >= 0) this.tickets.splice(at, 1);
      const waiter = this.queue.shift();
      if (waiter === undefined) {
        // Its waiter left while the answer was on the way: the lease goes straight back.
        this.pendingReleases.push(id);
        this.dirty = true;
        continue;
      }
      this.grant(waiter, id);
    }

    const unnotified = this.unnotified;
    this.unnotified = [];
    for (const waiter of unnotified)
      if (waiter.queued && !waiter.notified) this.notifyQueued(waiter);
    if (this.pendingReleases.length > 0 || this.pendingRemoves.length > 0) this.dirty = true;
    if (reply.granted.length >= checked && checked > 0 && this.queue.size > 0) this.dirty = true;

    if (this.queue.size > 0 && !this.dirty) this.scheduleRecheck(this.recheckDelay(reply));
    this.checkIdle();
  }

  /**
   * Waiting is woken by releases over pub/sub. Expiries free slots silently, so the next look
   * is timed at the next lease or ticket expiry, the end of a cooldown or of a recovery window,
   * and at most half a lease TTL away (in case a wake message was lost).
   */
  private recheckDelay(reply: SyncReply): number {
    const candidates = [this.link.leaseTtlMs / 2];
    if (reply.nextExpiryMs >= 0) candidates.push(reply.nextExpiryMs + 5);
    if (reply.cooldownUntil > 0) candidates.push(reply.cooldownUntil - reply.serverNow + 5);
    if (reply.recoveringMs > 0) candidates.push(reply.recoveringMs + 5);
    return Math.max(5, Math.min(...candidates));
  }

  private scheduleRecheck(delayMs: number): void {
    clearTimeout(this.recheckTimer);
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = undefined;
      this.pump();
    }, delayMs);
    this.recheckTimer.unref?.();
  }

  /** One ticket in Redis per local waiter: extra ones leave the line from the back. */
  private reconcileTickets(): void {
    while (this.tickets.length > this.queue.size) this.dropNewestTicket();
    while (this.tickets.length < this.queue.size) {
      this.tickets.push({ id: `${this.link.id}:${this.nextNumber++}`, sent: false });
    }
  }

  private dropNewestTicket(): void {
    const ticket = this.tickets.pop();
    if (ticket?.sent) this.pendingRemoves.push(ticket.id);
  }

  private grant(waiter: Waiter, redisId: string): void {
    this.unwatch(waiter);
    const now = performance.now();
    const waitedMs = now - waiter.enqueuedAt;
    const lease = new RedisLease(this, this.nextNumber++, redisId, this.key, now, waitedMs);
    this.held.set(redisId, lease);
    this.emit('acquired', {
      key: this.key,
      leaseId: lease.id,
      session: waiter.session,
      waitedMs,
      active: this.held.size,
    });
    waiter.resolve(lease);
  }

  private leave(waiter: Waiter, reason: unknown): void {
    if (!this.queue.remove(waiter)) return;
    this.unwatch(waiter);
    this.dropNewestTicket();
    waiter.reject(reason);
    this.emitRejected(waiter.session, reason);
    // The ticket that left may have stood at the head of the line: tell Redis now, so the
    // processes behind it move up.
    this.pump(true);
    this.checkIdle();
  }

  private unwatch(waiter: Waiter): void {
    waiter.queued = false;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    if (waiter.signal !== undefined && waiter.onAbort !== undefined) {
      waiter.signal.removeEventListener('abort', waiter.onAbort);
    }
    waiter.onAbort = undefined;
  }

  private looksFull(): boolean {
    return (
      this.queue.size > 1 ||
      this.link.state !== 'ok' ||
      this.cooldownUntil > 0 ||
      this.clusterWaiting > 0 ||
      (this.currentLimit > 0 && this.clusterActive >= this.currentLimit)
    );
  }

  private notifyQueued(waiter: Waiter): void {
    waiter.notified = true;
    this.emit('queued', { key: this.key, session: waiter.session, pending: this.queue.size });
    try {
      waiter.onQueued?.();
    } catch (error) {
      this.leave(waiter, error);
    }
  }

  private setLocalCooldown(untilMs: number): void {
    this.cooldownUntilMs = untilMs;
    clearTimeout(this.cooldownTimer);
    this.cooldownTimer = setTimeout(
      () => {
        this.cooldownTimer = undefined;
        this.pump();
      },
      Math.max(1, untilMs - Date.now()),
    );
    this.cooldownTimer.unref?.();
  }

  private queueTimeout(timeoutMs: number): SluiceError {
    return new SluiceError({
      kind: 'queue-timeout',
      phase: 'queue',
      message:
        `Waited ${timeoutMs} ms in the queue of budget "${this.key}" on Redis at ${this.link.displayUrl} ` +
        `without getting a lease (limit ${this.currentLimit || 'none'}, ${this.clusterActive} held and ` +
        `${this.clusterWaiting} waiting across processes).`,
      hint: 'Raise timeouts.queueMs, send fewer parallel requests, or raise maxConcurrency if the provider really serves more.',
    });
  }

  private checkIdle(): void {
    if (this.held.size !== 0 || this.queue.size !== 0) return;
    const resolvers = this.idleResolvers;
    this.idleResolvers = [];
    for (const resolve of resolvers) resolve();
    this.emit('idle', { key: this.key });
  }

  private emitRejected(session: string | undefined, reason: unknown): void {
    this.emit('rejected', { key: this.key, session, reason });
  }

  private emit<E extends BudgetEventName>(event: E, payload: BudgetEventMap[E]): void {
    this.events.emit(event, payload);
  }
}
