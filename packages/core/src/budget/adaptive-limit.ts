import { SluiceError } from '../errors/sluice-error.js';
import type { Budget } from './types.js';

/** The AIMD settings of an adaptive budget; see {@link createAdaptiveLimit}. */
export interface AdaptiveLimitSettings {
  /** The limit never goes below this; an integer >= 1. */
  min: number;
  /** The limit never goes above this (usually the advertised `maxConcurrency`); >= `min`. */
  max: number;
  /**
   * Clean streams at the current limit, sent while the budget was full, before the limit grows
   * by one. Undefined: the current limit (one "window" of clean streams, as TCP grows one
   * segment per round trip).
   */
  increaseAfter?: number | undefined;
  /** Factor applied on an overload signal, in (0, 1); the result is floored. Default 0.5. */
  decreaseFactor?: number | undefined;
}

/** Options of {@link createAdaptiveLimit}. */
export interface AdaptiveLimitOptions extends AdaptiveLimitSettings {
  /** The budget whose limit is driven through `resize(n)`; any backend. */
  budget: Budget;
  /** Entries kept by `history()`; older ones are dropped. Default 500. */
  historyLimit?: number;
}

/** One change of an adaptive limit (an entry of its history and the `limit-changed` payload). */
export interface LimitChange {
  budgetKey: string;
  /** The effective limit after the change. */
  limit: number;
  previous: number;
  /** Why, for people: `1302 rate limit from glm`, `12 clean streams at limit 3`. */
  reason: string;
  direction: 'increase' | 'decrease' | 'clamp';
  /** Epoch ms. */
  time: number;
}

/** What an overload signal was, for the reason of the decrease. */
export interface LossSignal {
  /** A short description: `1302 rate limit from glm`, `headers timeout from glm`. */
  reason: string;
}

/**
 * One request as the adaptive limit saw it at send: taken with {@link AdaptiveLimit.begin} right
 * after the lease was granted and handed back with `success` or `loss` when the request ended.
 */
export interface AdaptiveTicket {
  /** The decrease count when the request was sent: older tickets belong to a past episode. */
  readonly decreases: number;
  /** The change count when the request was sent: only requests sent at this limit count. */
  readonly changes: number;
  /** Whether the request was sent while the budget was full (or had waiters). */
  readonly saturated: boolean;
  /** Send order, to tell which of two requests went first. */
  readonly seq: number;
}

/** The controller of one budget's adaptive limit. */
export interface AdaptiveLimit {
  readonly budgetKey: string;
  /** The effective limit (the budget's own limit, shared by every process on its backend). */
  readonly limit: number;
  readonly settings: Readonly<Required<Omit<AdaptiveLimitSettings, 'increaseAfter'>>> & {
    readonly increaseAfter: number | undefined;
  };
  /** The reason of the last change, or undefined before the first one. */
  readonly lastReason: string | undefined;
  /**
   * Call when a request was granted its lease and is about to be sent. Every ticket must end in
   * `success`, `loss` or `settle`; `headers` in between marks it as served.
   */
  begin(): AdaptiveTicket;
  /** The request's response headers arrived (it is being served). */
  headers(ticket: AdaptiveTicket): void;
  /** The request ended in a way that says nothing about capacity (bad request, cancelled). */
  settle(ticket: AdaptiveTicket): void;
  /** The request's stream ended cleanly. Returns the change it caused, if any. */
  success(ticket: AdaptiveTicket): LimitChange | undefined;
  /** The request met an overload signal. Returns the change it caused, if any. */
  loss(ticket: AdaptiveTicket, signal: LossSignal): LimitChange | undefined;
  /** The changes so far, oldest first, at most `historyLimit`. */
  history(): LimitChange[];
  /** Listens to changes; returns the unsubscribe function. */
  onChange(listener: (change: LimitChange) => void): () => void;
}

const DEFAULT_DECREASE_FACTOR = 0.5;

/**
 * How many times more clean streams the step back to the last loss limit needs. Measured on the
 * fan-out bench (ceiling 3, then 1): with 1 the limit probed the failing level every ~3 s at
 * ceiling 1, one stalled request per probe; with 4 about every 6 s.
 */
export const PROBE_SLOWDOWN = 4;
const DEFAULT_HISTORY_LIMIT = 500;

/**
 * Creates an AIMD controller for one budget: the limit grows by one after a run of clean streams
 * and is multiplied by `decreaseFactor` (floored, never below `min`) on an overload signal, so it
 * settles near the concurrency the provider really serves instead of the one it advertises. The
 * decrease stops at the number of this budget's streams the provider is serving at that moment
 * (headers received, body not ended), and always lowers the limit by at least one.
 *
 * Only loss signals count (429 / rate-limit codes, overloaded codes, headers timeouts), never raw
 * latency: how long a stream takes depends on how much the model writes.
 *
 * Rules, each enforced in one place below:
 * - One decrease per episode: a loss from a request sent before the last decrease is ignored,
 *   since it reports the overload that decrease already answered (four stalled streams would
 *   otherwise cut the limit four times).
 * - An increase needs `increaseAfter` clean streams that were sent at the current limit while the
 *   budget was full; a budget that is never full has not shown it could use more.
 * - An increase waits while a request sent BEFORE the clean stream that would trigger it still has
 *   no response headers. This compares order, not time: when a later request has been served to
 *   its end and an earlier one has not even been answered, the provider is most likely holding the
 *   earlier one (GLM's stall), and its loss signal only arrives with the headers deadline. Growing
 *   meanwhile would overshoot further, and the extra stalled requests would hold leases inside
 *   the lowered limit after the decrease.
 * - Growth back to the level where the last loss happened (the limit then, or one more than the
 *   streams being served then, whichever is lower) is slower: the step that reaches it
 *   needs {@link PROBE_SLOWDOWN} times as many clean streams. Below it, the limit recovers at the
 *   normal pace; at it, every probe that fails costs one stalled request (a headers deadline for
 *   one session), so the probes there come less often. Once a clean stream at that limit shows it
 *   holds, the mark is forgotten, and a provider that raised its ceiling is found at the normal
 *   pace.
 * - Held leases are never revoked: `resize` only stops new grants, so `active` may stay above a
 *   lowered limit until those streams end.
 * - The limit is read from the budget at each decision, so with a shared backend (IPC, socket,
 *   Redis) every process adapts the one shared limit.
 *
 * On creation a budget limit outside [`min`, `max`] (0, no cap, counts as outside) is clamped.
 *
 * @throws SluiceError kind `config` when the settings are out of range.
 */
export function createAdaptiveLimit(options: AdaptiveLimitOptions): AdaptiveLimit {
  const settings = checkSettings(options.budget.key, options);
  return new AimdLimit(options.budget, settings, options.historyLimit ?? DEFAULT_HISTORY_LIMIT);
}

type Settings = AdaptiveLimit['settings'];

class AimdLimit implements AdaptiveLimit {
  readonly budgetKey: string;
  lastReason: string | undefined = undefined;

  #decreases = 0;
  #changes = 0;
  #cleanStreams = 0;
  /** The level the last loss showed to be too high, until a clean stream at it shows it holds. */
  #lossLimit: number | undefined = undefined;
  #seq = 0;
  /** Requests sent and not yet answered, with the most streams served while each waited. */
  readonly #awaitingHeaders = new Map<AdaptiveTicket, number>();
  /** Requests whose headers arrived and whose body has not ended: what the provider serves now. */
  readonly #served = new Set<AdaptiveTicket>();
  #history: LimitChange[] = [];
  #listeners: ((change: LimitChange) => void)[] = [];

  constructor(
    private readonly budget: Budget,
    readonly settings: Settings,
    private readonly historyLimit: number,
  ) {
    this.budgetKey = budget.key;
    const current = budget.limit;
    const clamped = current === 0 ? settings.max : clamp(current, settings.min, settings.max);
    if (clamped !== current) {
      this.#apply(clamped, 'clamp', `adaptive range ${settings.min}-${settings.max}`);
    }
  }

  get limit(): number {
    return this.budget.limit;
  }

  begin(): AdaptiveTicket {
    const budget = this.budget;
    const ticket = {
      decreases: this.#decreases,
      changes: this.#changes,
      saturated: budget.pending > 0 || budget.active >= budget.limit,
      seq: ++this.#seq,
    };
    this.#awaitingHeaders.set(ticket, this.#served.size);
    return ticket;
  }

  headers(ticket: AdaptiveTicket): void {
    if (!this.#awaitingHeaders.delete(ticket)) return;
    this.#served.add(ticket);
    // Every request still waiting has now seen this many streams served alongside it.
    const served = this.#served.size;
    for (const [waiting, peak] of this.#awaitingHeaders) {
      if (served > peak) this.#awaitingHeaders.set(waiting, served);
    }
  }

  settle(ticket: AdaptiveTicket): void {
    this.#forget(ticket);
  }

  success(ticket: AdaptiveTicket): LimitChange | undefined {
    this.#forget(ticket);
    if (ticket.changes !== this.#changes || !ticket.saturated) return undefined;

    const current = this.limit;
    if (current >= this.settings.max) return undefined;
    this.#cleanStreams += 1;
    // Clean streams at or past the loss limit: that limit holds now, so its mark goes.
    if (this.#lossLimit !== undefined && current >= this.#lossLimit) this.#lossLimit = undefined;
    const base = this.settings.increaseAfter ?? current;
    const needed = this.#lossLimit === current + 1 ? base * PROBE_SLOWDOWN : base;
    if (this.#cleanStreams < needed || this.#olderUnanswered(ticket)) return undefined;
    return this.#apply(
      current + 1,
      'increase',
      `${this.#cleanStreams} clean streams at limit ${current}`,
    );
  }

  loss(ticket: AdaptiveTicket, signal: LossSignal): LimitChange | undefined {
    const servedAlongside = Math.max(this.#awaitingHeaders.get(ticket) ?? 0, this.#served.size);
    this.#forget(ticket);
    // Sent before the last decrease: part of the episode that decrease already answered.
    if (ticket.decreases !== this.#decreases) return undefined;

    // Halve, but not below what the provider is serving to us right now: those streams got their
    // headers while this one did not, so that many are served. Without this floor a halving from
    // 4 or 5 lands on 2 under a ceiling of 3 and a third of the capacity sits idle until the
    // limit grows back. It always lowers by at least one (above min).
    const current = this.limit;
    const halved = Math.floor(current * this.settings.decreaseFactor);
    const next = Math.max(
      this.settings.min,
      Math.min(current - 1, Math.max(halved, this.#served.size)),
    );
    this.#decreases += 1;
    // The lowest limit this loss showed to be too high: the limit then, or one more than the most
    // streams served alongside the refused one while it waited (with 1 served and one refused, 2
    // is the level to probe carefully). The most, not the count at the moment of the loss: one
    // stream ending just before it would otherwise mark a level that holds as too high, and the
    // limit would climb back to it at the slow pace.
    this.#lossLimit = Math.min(current, servedAlongside + 1);
    if (next === current) {
      // Already at the floor: nothing to resize, but the episode still starts here, and the run
      // of clean streams starts over.
      this.#changes += 1;
      this.#cleanStreams = 0;
      return undefined;
    }
    return this.#apply(next, 'decrease', signal.reason);
  }

  history(): LimitChange[] {
    return this.#history.map((change) => ({ ...change }));
  }

  onChange(listener: (change: LimitChange) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((existing) => existing !== listener);
    };
  }

  #forget(ticket: AdaptiveTicket): void {
    this.#awaitingHeaders.delete(ticket);
    this.#served.delete(ticket);
  }

  /** Whether a request sent before `ticket` still waits for its headers. */
  #olderUnanswered(ticket: AdaptiveTicket): boolean {
    for (const waiting of this.#awaitingHeaders.keys()) if (waiting.seq < ticket.seq) return true;
    return false;
  }

  #apply(limit: number, direction: LimitChange['direction'], reason: string): LimitChange {
    const previous = this.budget.limit;
    this.budget.resize(limit);
    this.#changes += 1;
    this.#cleanStreams = 0;
    this.lastReason = reason;

    const change: LimitChange = {
      budgetKey: this.budgetKey,
      limit,
      previous,
      reason,
      direction,
      time: Date.now(),
    };
    this.#history.push(change);
    if (this.#history.length > this.historyLimit) this.#history.shift();
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        // Like EventTarget: a listener's error is reported, and never undoes the change.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    return change;
  }
}

// One controller per budget object, so every router and client sharing a budget also shares its
// adaptive state (the episode and the run of clean streams).
const controllers = new WeakMap<Budget, AdaptiveLimit>();

/**
 * The adaptive limit of `budget`, created with `settings` on first use. Later calls return the
 * same controller whatever settings they pass (the first config to use the budget decides).
 */
export function adaptiveLimitFor(budget: Budget, settings: AdaptiveLimitSettings): AdaptiveLimit {
  let controller = controllers.get(budget);
  if (controller === undefined) {
    controller = createAdaptiveLimit({ budget, ...settings });
    controllers.set(budget, controller);
  }
  return controller;
}

/** The adaptive limit of `budget` if one was created, for readiness and dashboards. */
export function adaptiveLimitOf(budget: Budget): AdaptiveLimit | undefined {
  return controllers.get(budget);
}

function checkSettings(key: string, options: AdaptiveLimitSettings): Settings {
  const { min, max, increaseAfter } = options;
  const decreaseFactor = options.decreaseFactor ?? DEFAULT_DECREASE_FACTOR;
  if (!isInteger(min, 1)) throw settingError(key, 'min', min, 'an integer >= 1');
  if (!isInteger(max, min)) throw settingError(key, 'max', max, `an integer >= min (${min})`);
  if (increaseAfter !== undefined && !isInteger(increaseAfter, 1)) {
    throw settingError(key, 'increaseAfter', increaseAfter, 'an integer >= 1');
  }
  if (!(typeof decreaseFactor === 'number' && decreaseFactor > 0 && decreaseFactor < 1)) {
    throw settingError(key, 'decreaseFactor', decreaseFactor, 'a number between 0 and 1');
  }
  return { min, max, increaseAfter, decreaseFactor };
}

function isInteger(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min;
}

function settingError(key: string, field: string, value: unknown, expected: string) {
  return new SluiceError({
    kind: 'config',
    phase: 'config',
    message: `Budget "${key}": adaptive ${field} must be ${expected}, got ${String(value)}.`,
  });
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
