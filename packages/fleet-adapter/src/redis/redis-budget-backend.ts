import { createHash, randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';
import { SluiceError, checkBudgetKey, checkLimit, redactSecrets } from '@sluice/core';
import type { BudgetBackend } from '@sluice/core';

import {
  RedisBudgetImpl,
  type LinkState,
  type RedisBudget,
  type SyncArgs,
} from './redis-budget.js';
import { EPOCH_SCRIPT, SYNC_SCRIPT } from './redis-scripts.js';
import { displayRedisUrl, parseRedisBudgetUrl, redisUrlPassword } from './redis-url.js';

/** Options of {@link redisBudgetBackend}. Give `url` or `client`. */
export interface RedisBudgetBackendOptions {
  /**
   * `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). Query parameters named
   * like the options below (`?leaseTtlMs=5000&onUnavailable=local-cap-1`) set them; explicit
   * options win.
   */
  url?: string;
  /**
   * An ioredis client to use instead of connecting to `url`; a duplicate of it carries the
   * wake-up subscription. The backend never closes a client it was given.
   */
  client?: Redis;
  /** Prefix of every key and of the wake channel. Default `sluice:budget:`. */
  keyPrefix?: string;
  /**
   * How long a lease (and a queued acquire) counts without a heartbeat, in ms. A process that
   * crashes frees its leases within this time. Default 10 000.
   */
  leaseTtlMs?: number;
  /** How often live leases and queued acquires are refreshed, in ms. Default `leaseTtlMs / 3`. */
  heartbeatMs?: number;
  /**
   * What acquires do while Redis is unreachable: `fail` (default) rejects them at once with a
   * `budget-unavailable` SluiceError; `local-cap-1` lets this process run one request at a time
   * (never uncapped) until Redis is back, when its leases are registered there again.
   */
  onUnavailable?: 'fail' | 'local-cap-1';
  /**
   * After a working connection drops, how long acquires wait for the reconnect before the
   * budget counts as down (and waiting acquires fail or fall back), in ms. Default 1000.
   */
  reconnectGraceMs?: number;
  /** How long the first connection may take before the budget counts as down, in ms. Default 2000. */
  connectTimeoutMs?: number;
}

/** The state of a Redis budget backend's connection, for readiness and logs. */
export interface RedisBudgetHealth {
  backend: 'redis';
  /** `ok`; `reconnecting` while (re)connecting or re-registering leases; `down` past the grace. */
  state: 'ok' | 'reconnecting' | 'down';
  /** The Redis URL without its password. */
  url: string;
  /** The last connection error, without secrets. */
  lastError?: string;
}

/** A {@link BudgetBackend} on Redis: budgets shared by every process that uses the same Redis. */
export interface RedisBudgetBackend extends BudgetBackend {
  readonly name: 'redis';
  /** The Redis URL without its password. */
  readonly url: string;
  /** Opens the budget of `key`; use a registry (`createBudgetRegistry`) for one per key. */
  open(key: string, options: { limit: number }): RedisBudget;
  /** Connection state, without secrets. */
  health(): RedisBudgetHealth;
  /** Resolves once connected and recovered; rejects with `budget-unavailable` when down. */
  ready(): Promise<void>;
  /**
   * Fails every waiting acquire, removes this process's leases and queued acquires from Redis
   * and disconnects (a given `client` stays open). Leases still held stop counting.
   */
  close(): Promise<void>;
}

/**
 * Creates a budget backend on Redis, so processes on several machines share one in-flight
 * budget per key. Pass it to `createBudgetRegistry({ backend })`, to `createRouter({
 * budgetBackends: { redis: backend } })`, or reach it through `SLUICE_BUDGET=redis://...` and
 * `attachBudget()`.
 *
 * How it counts: each budget is a sorted set of lease ids with expiry times, changed only by Lua
 * scripts, so acquire and release are atomic across processes. Leases carry a TTL refreshed by a
 * heartbeat; a crashed holder's leases stop counting once their TTL passed. Acquires that must
 * wait stand in a line in Redis (FIFO by arrival across processes), and inside one process they
 * keep the in-process order (priority, then round-robin by session). A release wakes waiting
 * processes through pub/sub; they do not poll. The limit and the cooldown deadline live in Redis
 * too, so every process obeys the same ones.
 *
 * Outages: while Redis cannot be reached, acquires fail fast with a `budget-unavailable`
 * SluiceError (or, with `onUnavailable: 'local-cap-1'`, run one at a time). After a reconnect,
 * every process first re-registers its live leases; if Redis lost its data (a restart without
 * persistence), no lease is granted for one lease TTL, the time every live holder has to
 * re-register, so the budget is not silently over-admitted.
 *
 * @example
 * ```ts
 * import { createBudgetRegistry, createRouter } from '@sluice/core';
 * import { redisBudgetBackend } from '@sluice/fleet-adapter/redis';
 *
 * const budgets = createBudgetRegistry({ backend: redisBudgetBackend({ url: 'redis://10.0.0.5:6379' }) });
 * const router = createRouter({ config, budgets });
 * ```
 *
 * @throws SluiceError kind `config` when neither `url` nor `client` is given, the URL is not a
 *   Redis URL, or an option is out of range.
 */
export function redisBudgetBackend(options: RedisBudgetBackendOptions): RedisBudgetBackend {
  return new RedisBackendImpl(options);
}

const DEFAULT_PREFIX = 'sluice:budget:';

interface Script {
  lua: string;
  sha: string;
}

const script = (lua: string): Script => ({
  lua,
  sha: createHash('sha1').update(lua).digest('hex'),
});
const SYNC = script(SYNC_SCRIPT);
const EPOCH = script(EPOCH_SCRIPT);

class RedisBackendImpl implements RedisBudgetBackend {
  readonly name = 'redis' as const;
  readonly url: string;
  readonly displayUrl: string;
  readonly id = randomBytes(6).toString('hex');
  readonly leaseTtlMs: number;
  readonly onUnavailable: 'fail' | 'local-cap-1';

  state: LinkState = 'connecting';
  epoch = '';
  lastError: string | undefined = undefined;

  private readonly prefix: string;
  private readonly heartbeatMs: number;
  private readonly reconnectGraceMs: number;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly ownsClient: boolean;
  private readonly secrets: string[];
  private readonly budgets = new Map<string, Set<RedisBudgetImpl>>();
  private readonly heartbeatTimer: ReturnType<typeof setInterval>;
  private graceTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private recovering: Promise<void> | undefined = undefined;
  private recoverAgain = false;
  private readyWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];

  constructor(options: RedisBudgetBackendOptions) {
    const { client, url } = options;
    if (client === undefined && (url === undefined || url === '')) {
      throw new SluiceError({
        kind: 'config',
        phase: 'config',
        message: 'redisBudgetBackend needs a url (redis://host:6379) or an ioredis client.',
        hint: 'Pass { url } or { client }, e.g. the budget.url of the route config.',
      });
    }

    const parsed = url ? parseRedisBudgetUrl(url) : undefined;
    const merged = { ...parsed?.options, ...definedOnly(options) };
    this.url = url ? displayRedisUrl(url) : describeClient(client!);
    this.displayUrl = this.url;
    this.secrets = [url ? redisUrlPassword(url) : undefined, client?.options.password].filter(
      (secret): secret is string => typeof secret === 'string' && secret.length > 0,
    );
    this.prefix = merged.keyPrefix ?? DEFAULT_PREFIX;
    this.leaseTtlMs = positive('leaseTtlMs', merged.leaseTtlMs ?? 10_000);
    this.heartbeatMs = positive('heartbeatMs', merged.heartbeatMs ?? this.leaseTtlMs / 3);
    this.reconnectGraceMs = positive('reconnectGraceMs', merged.reconnectGraceMs ?? 1_000);
    const connectTimeoutMs = positive('connectTimeoutMs', merged.connectTimeoutMs ?? 2_000);
    if (this.heartbeatMs >= this.leaseTtlMs) {
      throw new SluiceError({
        kind: 'config',
        phase: 'config',
        message: `redisBudgetBackend: heartbeatMs (${this.heartbeatMs}) must be shorter than leaseTtlMs (${this.leaseTtlMs}), or live leases would expire.`,
        hint: 'Leave heartbeatMs unset (a third of the TTL) or lower it.',
      });
    }
    const onUnavailable = merged.onUnavailable ?? 'fail';
    if (onUnavailable !== 'fail' && onUnavailable !== 'local-cap-1') {
      throw new SluiceError({
        kind: 'config',
        phase: 'config',
        message: `redisBudgetBackend: onUnavailable must be 'fail' or 'local-cap-1', got ${String(onUnavailable)}.`,
      });
    }
    this.onUnavailable = onUnavailable;

    // Commands never wait in ioredis's offline queue and are never replayed after a reconnect:
    // the backend decides itself what to resend, after the leases were re-registered.
    const connection = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: connectTimeoutMs,
      retryStrategy: (times: number) => Math.min(50 * times, 1_000),
    };
    this.ownsClient = client === undefined;
    this.client = client ?? new Redis(parsed!.connectUrl, connection);
    this.subscriber = this.client.duplicate({
      ...connection,
      // The subscription waits for the connection, however long it takes.
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
      lazyConnect: false,
    });

    this.client.on('ready', () => this.onReady());
    this.client.on('error', (error: Error) => this.onError(error));
    this.client.on('close', () => this.onClose());
    this.subscriber.on('error', (error: Error) => {
      this.lastError = this.scrub(error.message);
    });
    this.subscriber.on('message', (_channel: string, message: string) => this.onWake(message));
    this.subscriber.subscribe(this.channel).catch((error: Error) => {
      this.lastError = this.scrub(error.message);
    });
    if (this.client.status === 'ready') this.onReady();

    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.heartbeatMs);
    this.heartbeatTimer.unref?.();
  }

  private get channel(): string {
    return `${this.prefix}wake`;
  }

  open(key: string, options: { limit: number }): RedisBudget {
    checkBudgetKey(key, 'A Redis budget');
    if (this.state === 'closed') throw this.closedError(key);
    const budget = new RedisBudgetImpl(this, key, checkLimit(key, options?.limit));
    let set = this.budgets.get(key);
    if (set === undefined) {
      set = new Set();
      this.budgets.set(key, set);
    }
    set.add(budget);
    return budget;
  }

  health(): RedisBudgetHealth {
    const state =
      this.state === 'ok'
        ? 'ok'
        : this.state === 'down' || this.state === 'closed'
          ? 'down'
          : 'reconnecting';
    return {
      backend: 'redis',
      state,
      url: this.url,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  ready(): Promise<void> {
    if (this.state === 'ok') return Promise.resolve();
    if (this.state === 'down' || this.state === 'closed') {
      return Promise.reject(this.unavailableError(undefined));
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ok';
    this.state = 'closed';
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.graceTimer);
    this.settleReady(this.unavailableError(undefined));

    const cleanup = this.client.multi();
    let commands = 0;
    for (const [key, set] of this.budgets) {
      const keys = this.keysOf(key);
      for (const budget of set) {
        const { leases, tickets } = budget.shutdown(this.closedError(key));
        if (leases.length > 0) cleanup.zrem(keys[0]!, ...leases);
        if (tickets.length > 0) cleanup.zrem(keys[1]!, ...tickets).zrem(keys[2]!, ...tickets);
        if (leases.length + tickets.length > 0) {
          cleanup.publish(this.channel, `${this.id}|${key}`);
          commands++;
        }
      }
    }
    this.budgets.clear();
    if (wasReady && commands > 0) await cleanup.exec().catch(() => undefined);

    this.subscriber.disconnect();
    if (this.ownsClient) {
      await this.client.quit().catch(() => this.client.disconnect());
    }
  }

  // ---- what budgets call (RedisLink) ----

  sync(key: string, args: SyncArgs): Promise<unknown> {
    const { limit, limitMode, cooldownInMs, lists } = args;
    const argv = [
      this.epoch,
      this.leaseTtlMs,
      // Queued acquires expire like leases: a crashed waiter leaves the line within the TTL.
      this.leaseTtlMs,
      this.idleTtlMs,
      limit,
      limitMode,
      cooldownInMs === undefined ? '' : Math.ceil(cooldownInMs),
      this.channel,
      `${this.id}|${key}`,
    ];
    for (const items of lists) argv.push(items.length, ...items);
    return this.run(SYNC, this.keysOf(key), argv);
  }

  epochChanged(): void {
    if (this.state === 'ok') void this.recover();
  }

  unavailableError(key: string | undefined): SluiceError {
    if (this.state === 'closed') return this.closedError(key);
    const subject = key === undefined ? 'The Redis budgets' : `Budget "${key}"`;
    const why = this.lastError ? ` (${this.lastError})` : '';
    const state = this.state === 'down' ? 'is unreachable' : 'is not connected yet';
    return new SluiceError({
      kind: 'budget-unavailable',
      phase: 'queue',
      retryable: false,
      message: `${subject} live on Redis at ${this.url}, which ${state}${why}, so no lease can be granted.`,
      hint: `Start or fix the Redis server at ${this.url} (or correct the budget URL in the route config or SLUICE_BUDGET); to keep going one request at a time while Redis is away, add ?onUnavailable=local-cap-1 to the budget URL.`,
    });
  }

  // ---- connection ----

  private get idleTtlMs(): number {
    // A budget nobody touched for this long disappears from Redis (limit and line included),
    // so a changed config takes effect once a budget has been idle.
    return Math.max(60_000, this.leaseTtlMs * 6);
  }

  private keysOf(key: string): string[] {
    const base = `${this.prefix}${key}:`;
    return [
      `${base}leases`,
      `${base}waiters`,
      `${base}waiters-exp`,
      `${base}limit`,
      `${base}cooldown`,
      `${base}seq`,
      `${this.prefix}epoch`,
      `${this.prefix}recovering`,
    ];
  }

  private async run(which: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.client.evalsha(which.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // A restarted Redis has an empty script cache.
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return this.client.eval(which.lua, keys.length, ...keys, ...args);
    }
  }

  private onReady(): void {
    if (this.state === 'closed') return;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.state = 'recovering';
    void this.recover();
  }

  /**
   * Confirms the epoch, then re-registers every budget's live leases and waiters, one budget at
   * a time, and only then allows grants again. A second trigger while this runs (another
   * reconnect, a changed epoch) runs it once more afterwards.
   */
  private recover(): Promise<void> {
    if (this.recovering !== undefined) {
      this.recoverAgain = true;
      return this.recovering;
    }
    this.state = 'recovering';
    this.recovering = (async () => {
      do {
        this.recoverAgain = false;
        try {
          const fresh = randomBytes(8).toString('hex');
          const [epoch] = (await this.run(
            EPOCH,
            [`${this.prefix}epoch`, `${this.prefix}recovering`],
            [this.epoch, fresh, this.leaseTtlMs],
          )) as [string, number];
          this.epoch = String(epoch);
          for (const set of this.budgets.values()) {
            for (const budget of set) await budget.recover();
          }
        } catch (error) {
          if (this.state === 'closed') return;
          this.lastError = this.scrub((error as Error)?.message ?? String(error));
          // Connection trouble ends in 'close' and a later 'ready' that recovers again; a
          // changed epoch mid-way (or a failed script) runs the recovery once more, shortly.
          if (this.client.status !== 'ready') return;
          this.recoverAgain = true;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } while (this.recoverAgain && this.state !== 'closed');
      if (this.state !== 'recovering') return;
      this.state = 'ok';
      this.settleReady(undefined);
      for (const set of this.budgets.values()) for (const budget of set) budget.pump(true);
    })().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  private onError(error: Error): void {
    this.lastError = this.scrub(error.message || String(error));
    // The first connection failed: fail fast instead of letting acquires wait for retries.
    if (this.state === 'connecting') this.goDown();
  }

  private onClose(): void {
    if (this.state === 'ok' || this.state === 'recovering') {
      this.state = 'reconnecting';
      clearTimeout(this.graceTimer);
      this.graceTimer = setTimeout(() => this.goDown(), this.reconnectGraceMs);
      this.graceTimer.unref?.();
    }
  }

  private goDown(): void {
    if (this.state === 'closed' || this.state === 'ok' || this.state === 'down') return;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.state = 'down';
    this.settleReady(this.unavailableError(undefined));
    for (const set of this.budgets.values()) for (const budget of set) budget.down();
  }

  private onWake(message: string): void {
    const bar = message.indexOf('|');
    if (bar < 0 || message.slice(0, bar) === this.id) return;
    const set = this.budgets.get(message.slice(bar + 1));
    if (set !== undefined) for (const budget of set) budget.wake();
  }

  private heartbeat(): void {
    if (this.state !== 'ok') return;
    for (const set of this.budgets.values()) {
      for (const budget of set) if (budget.needsHeartbeat) budget.heartbeat();
    }
  }

  private settleReady(error: SluiceError | undefined): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const waiter of waiters) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  }

  private closedError(key: string | undefined): SluiceError {
    return new SluiceError({
      kind: 'budget-unavailable',
      phase: 'queue',
      retryable: false,
      message: `${key === undefined ? 'The Redis budgets' : `Budget "${key}"`} on ${this.url} belong to a backend that was closed.`,
      hint: 'Create a new redisBudgetBackend (or router) to send more requests.',
    });
  }

  private scrub(text: string): string {
    return redactSecrets(text, this.secrets);
  }
}

function definedOnly(options: RedisBudgetBackendOptions): Partial<RedisBudgetBackendOptions> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined && name !== 'url' && name !== 'client') out[name] = value;
  }
  return out as Partial<RedisBudgetBackendOptions>;
}

function describeClient(client: Redis): string {
  const { host, port, db } = client.options;
  return `redis://${host ?? '127.0.0.1'}:${port ?? 6379}${db ? `/${db}` : ''}`;
}

function positive(name: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  throw new SluiceError({
    kind: 'config',
    phase: 'config',
    message: `redisBudgetBackend: ${name} must be a number of ms > 0, got ${String(value)}.`,
  });
}
