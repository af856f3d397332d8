/** One sample of the server's load, taken whenever `inFlight` or `streaming` changed. */
export interface TimelineSample {
  /** Milliseconds since the simulator started (or since the last `resetStats()`). */
  t: number;
  inFlight: number;
  streaming: number;
}

/**
 * What the simulator measured. Counters are totals since start or the last `resetStats()`;
 * `inFlight`, `streaming` and `stalling` are the current values.
 */
export interface SimulatorStats {
  /** Chat requests received, whatever became of them. */
  requests: number;

  /** Open chat requests: admitted, stalled, or waiting for their error answer. */
  inFlight: number;

  /** Highest `inFlight` seen; this is the client's real concurrency as the server saw it. */
  peakInFlight: number;

  /** Requests being served (admitted under the ceiling), streaming or not. */
  streaming: number;

  /** Highest `streaming` seen. */
  peakStreaming: number;

  /** Requests currently held past the ceiling in `stall` mode. */
  stalling: number;

  /** Requests that were held past the ceiling in `stall` mode. */
  stalled: number;

  /** Requests answered 429 (code 1302) because of the ceiling, at once or after a stall. */
  rejected: number;

  /** Responses that ended normally: `[DONE]` written or the JSON body sent. */
  completed: number;

  /** Sockets the simulator reset: the `resetAfterChunks` fault and stalls in `stallEnd: 'reset'`. */
  resets: number;

  /** Requests answered with an error other than the ceiling's 429: faults, bad bodies, key check. */
  failed: number;

  /** Requests the client closed before the simulator finished its answer. */
  aborted: number;

  /** Load samples in time order; the oldest are dropped past `timelineLimit`. */
  timeline: TimelineSample[];
}

type Counter = 'requests' | 'stalled' | 'rejected' | 'completed' | 'resets' | 'failed' | 'aborted';

/** Mutable counters behind `Simulator.stats()`; internal to the package. */
export interface StatsRecorder {
  count(counter: Counter): void;
  /** Adds `delta` to the current in-flight, streaming or stalling level and samples the timeline. */
  shift(level: 'inFlight' | 'streaming' | 'stalling', delta: number): void;
  readonly streaming: number;
  /** Milliseconds since start or the last reset, the clock of `timeline`. */
  elapsedMs(): number;
  snapshot(): SimulatorStats;
  reset(): void;
}

/** Creates the recorder; `now` is injectable for tests that want exact times. */
export function createStatsRecorder(
  timelineLimit: number,
  now: () => number = () => performance.now(),
): StatsRecorder {
  let startedAt = now();
  const levels = { inFlight: 0, streaming: 0, stalling: 0 };
  let peaks = { inFlight: 0, streaming: 0 };
  let counters = zeroCounters();
  let timeline: TimelineSample[] = [];

  function sample(): void {
    timeline.push({
      t: Math.round((now() - startedAt) * 1000) / 1000,
      inFlight: levels.inFlight,
      streaming: levels.streaming,
    });
    if (timeline.length > timelineLimit) timeline.splice(0, timeline.length - timelineLimit);
  }

  sample();

  return {
    count(counter) {
      counters[counter] += 1;
    },

    shift(level, delta) {
      levels[level] += delta;
      if (level === 'stalling') return;
      peaks[level] = Math.max(peaks[level], levels[level]);
      sample();
    },

    get streaming() {
      return levels.streaming;
    },

    elapsedMs() {
      return Math.round((now() - startedAt) * 1000) / 1000;
    },

    snapshot() {
      return {
        ...counters,
        inFlight: levels.inFlight,
        peakInFlight: peaks.inFlight,
        streaming: levels.streaming,
        peakStreaming: peaks.streaming,
        stalling: levels.stalling,
        timeline: timeline.map((entry) => ({ ...entry })),
      };
    },

    // Peaks restart from the current load, so a reset between test phases never reports less
    // than what is still open.
    reset() {
      startedAt = now();
      counters = zeroCounters();
      peaks = { inFlight: levels.inFlight, streaming: levels.streaming };
      timeline = [];
      sample();
    },
  };
}

function zeroCounters(): Record<Counter, number> {
  return { requests: 0, stalled: 0, rejected: 0, completed: 0, resets: 0, failed: 0, aborted: 0 };
}
