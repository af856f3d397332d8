import type { SluiceErrorKind, SluiceEvent } from '@sluice/core';

/** Summary of a list of durations, in ms. */
export interface DurationSummary {
  count: number;
  sumMs: number;
  p50Ms: number;
  maxMs: number;
}

/** What one session did, from the router's events (and, for workers, the budget owner's grants). */
export interface SessionStats {
  /** Model requests started (retries of one request count once). */
  requests: number;
  /** Requests running now. */
  inFlight: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Leases granted: one per attempt, including those of a worker or child bound to the session. */
  leases: number;
  /** Time each lease waited in the queue. */
  leaseWait: DurationSummary;
  /** Time to first token per attempt that produced one. */
  timeToFirstToken: DurationSummary;
  tokens: { prompt: number; completion: number; total: number };
  retries: number;
  /** Failed requests by error kind. */
  failuresByKind: Partial<Record<SluiceErrorKind, number>>;
}

/**
 * Collects a session's figures. Durations are kept as raw samples so percentiles stay exact;
 * a session makes requests at model speed, so the arrays stay small.
 */
export class SessionAccounting {
  private readonly open = new Set<string>();
  private requests = 0;
  private succeeded = 0;
  private failed = 0;
  private cancelled = 0;
  private retries = 0;
  private readonly leaseWaits: number[] = [];
  private readonly ttfts: number[] = [];
  private readonly tokens = { prompt: 0, completion: 0, total: 0 };
  private readonly failuresByKind: Partial<Record<SluiceErrorKind, number>> = {};

  /** Applies one router event of this session. */
  record(event: SluiceEvent): void {
    switch (event.type) {
      case 'request-start':
        if (!this.open.has(event.requestId)) {
          this.open.add(event.requestId);
          this.requests++;
        }
        return;
      case 'lease-acquired':
        this.leaseWaits.push(event.waitedMs);
        return;
      case 'first-token':
        this.ttfts.push(event.ttftMs);
        return;
      case 'retry':
        this.retries++;
        return;
      case 'request-end':
        this.recordEnd(event);
        return;
      default:
        return;
    }
  }

  /** A lease granted over the budget channel to a worker or child bound to this session. */
  recordRemoteLease(waitedMs: number): void {
    this.leaseWaits.push(waitedMs);
  }

  /** The figures now, as a copy. */
  snapshot(): SessionStats {
    return {
      requests: this.requests,
      inFlight: this.open.size,
      succeeded: this.succeeded,
      failed: this.failed,
      cancelled: this.cancelled,
      leases: this.leaseWaits.length,
      leaseWait: summarize(this.leaseWaits),
      timeToFirstToken: summarize(this.ttfts),
      tokens: { ...this.tokens },
      retries: this.retries,
      failuresByKind: { ...this.failuresByKind },
    };
  }

  /** Raw samples, for merging several sessions into one exact summary. */
  samples(): { leaseWaits: readonly number[]; ttfts: readonly number[] } {
    return { leaseWaits: this.leaseWaits, ttfts: this.ttfts };
  }

  private recordEnd(event: Extract<SluiceEvent, { type: 'request-end' }>): void {
    // A request whose start this fleet missed (subscribed late) still counts once.
    if (!this.open.delete(event.requestId)) this.requests++;
    if (event.usage) {
      this.tokens.prompt += event.usage.promptTokens;
      this.tokens.completion += event.usage.completionTokens;
      this.tokens.total += event.usage.totalTokens;
    }
    if (event.outcome === 'success') this.succeeded++;
    else if (event.outcome === 'cancelled') this.cancelled++;
    else {
      this.failed++;
      const kind = event.error?.kind ?? 'unknown';
      this.failuresByKind[kind] = (this.failuresByKind[kind] ?? 0) + 1;
    }
  }
}

/** Sums several sessions' figures; percentiles are computed over the merged samples. */
export function mergeAccounting(parts: readonly SessionAccounting[]): SessionStats {
  const total = new SessionAccounting().snapshot();
  const leaseWaits: number[] = [];
  const ttfts: number[] = [];
  for (const part of parts) {
    const stats = part.snapshot();
    total.requests += stats.requests;
    total.inFlight += stats.inFlight;
    total.succeeded += stats.succeeded;
    total.failed += stats.failed;
    total.cancelled += stats.cancelled;
    total.retries += stats.retries;
    total.tokens.prompt += stats.tokens.prompt;
    total.tokens.completion += stats.tokens.completion;
    total.tokens.total += stats.tokens.total;
    for (const [kind, count] of Object.entries(stats.failuresByKind)) {
      const key = kind as SluiceErrorKind;
      total.failuresByKind[key] = (total.failuresByKind[key] ?? 0) + (count ?? 0);
    }
    const samples = part.samples();
    leaseWaits.push(...samples.leaseWaits);
    ttfts.push(...samples.ttfts);
  }
  total.leases = leaseWaits.length;
  total.leaseWait = summarize(leaseWaits);
  total.timeToFirstToken = summarize(ttfts);
  return total;
}

function summarize(samples: readonly number[]): DurationSummary {
  if (samples.length === 0) return { count: 0, sumMs: 0, p50Ms: 0, maxMs: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    sumMs: sum,
    p50Ms: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0,
    maxMs: sorted[sorted.length - 1] ?? 0,
  };
}
