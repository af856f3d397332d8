import { didYouMean } from './closest-name.js';
import type { SimulatorEvent } from './simulator-event.js';
import type { SimulatorFault } from './simulator-fault.js';
import { validateFault } from './simulator-fault.js';

/**
 * What happens to a request that arrives while `ceiling` requests are being served:
 * - `'stall'`: no response bytes at all for `stallMs`, then the `stallEnd` behaviour. The request
 *   is never served later, even when a slot frees: the real provider does not recover it either.
 * - `'reject'`: HTTP 429 with code 1302 at once.
 * - `'slow'`: served anyway, and every open stream slows down in proportion to the load past the
 *   ceiling (at load L > C each stream runs at C / L of `tokensPerSecond`).
 */
export type SimulatorMode = 'stall' | 'reject' | 'slow';

/** How a stall ends: a 429 with code 1302 (`'error'`) or a TCP reset of the socket (`'reset'`). */
export type StallEnd = 'error' | 'reset';

/** Where response content comes from: the recorded GLM streams, or made-up text. */
export type SimulatorSource = 'recorded' | 'generate';

/** The request as the `fault` function sees it. */
export interface SimulatedRequest {
  /** 0 for the first chat request since start (not reset by `resetStats()`), then 1, 2, ... */
  index: number;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body. */
  body: Record<string, unknown>;
}

/** Options of {@link startSimulator}. Every field is optional; defaults are listed per field. */
export interface SimulatorOptions {
  /** Interface to bind. Default `'127.0.0.1'` (loopback only). */
  host?: string;

  /** Port to bind; 0 picks a free port. Default 0. */
  port?: number;

  /** Effective number of requests served at once, C. Default 3. */
  ceiling?: number;

  /** The concurrency the provider advertises; only reported, never enforced. Default 10. */
  advertised?: number;

  /** Behaviour past the ceiling. Default `'stall'`. */
  mode?: SimulatorMode;

  /** How long a stalled request gets no bytes, in ms. Default 45_000 (the observed stall). */
  stallMs?: number;

  /** How a stall ends. Default `'error'` (429, code 1302). */
  stallEnd?: StallEnd;

  /** Content source. Default `'recorded'`. */
  source?: SimulatorSource;

  /** Folder of recorded exchanges. Default: the package's `fixtures/glm-recorded`. */
  recordingsDir?: string;

  /**
   * Serve this recording (file name without `.response.body`) to every request instead of
   * choosing by the request. The `x-sim-recording` header does the same for one request.
   */
  recording?: string;

  /** SSE events written per second per stream; `Infinity` writes them without pacing. Default 200. */
  tokensPerSecond?: number;

  /** Output tokens of generated text (`source: 'generate'`). Default 64. */
  outputTokens?: number;

  /** Reasoning tokens generated before the text (`source: 'generate'`). Default 0. */
  reasoningTokens?: number;

  /** Silence after the headers and before the first delta of every response, ms. Default 0. */
  thinkingPauseMs?: number;

  /**
   * A fault for every request, or a function choosing one per request (return `undefined` for
   * none). The `x-sim-fault` header adds to it; header fields win. Default: no fault.
   */
  fault?: SimulatorFault | ((request: SimulatedRequest) => SimulatorFault | undefined);

  /**
   * When set, requests must send `Authorization: Bearer <apiKey>`; otherwise 401 with code 1001
   * (no header), 1002 (not a bearer token) or 1000 (wrong key). Default: no check.
   */
  apiKey?: string;

  /** Most timeline samples kept by `stats()`; older ones are dropped. Default 10_000. */
  timelineLimit?: number;

  /**
   * Called synchronously for every request event (arrived, served, stalled, rejected, completed,
   * reset, failed, aborted), for live displays and logs. A throwing listener is ignored.
   * Default: none.
   */
  onEvent?: (event: SimulatorEvent) => void;
}

/** The options with every default filled in. */
export type ResolvedSimulatorOptions = Required<
  Omit<SimulatorOptions, 'recordingsDir' | 'recording' | 'fault' | 'apiKey' | 'onEvent'>
> &
  Pick<SimulatorOptions, 'recordingsDir' | 'recording' | 'fault' | 'apiKey' | 'onEvent'>;

/** Every option name, in the order the README lists them. */
const OPTION_NAMES = Object.keys({
  host: true,
  port: true,
  ceiling: true,
  advertised: true,
  mode: true,
  stallMs: true,
  stallEnd: true,
  source: true,
  recordingsDir: true,
  recording: true,
  tokensPerSecond: true,
  outputTokens: true,
  reasoningTokens: true,
  thinkingPauseMs: true,
  fault: true,
  apiKey: true,
  timelineLimit: true,
  onEvent: true,
} satisfies Record<keyof SimulatorOptions, true>);

const MODES: readonly SimulatorMode[] = ['stall', 'reject', 'slow'];
const STALL_ENDS: readonly StallEnd[] = ['error', 'reset'];
const SOURCES: readonly SimulatorSource[] = ['recorded', 'generate'];

/**
 * Fills in defaults and checks every field.
 *
 * @throws Error naming the option, the value received and what is accepted.
 */
export function resolveSimulatorOptions(options: SimulatorOptions = {}): ResolvedSimulatorOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new Error(
      `startSimulator: options must be an object such as { ceiling: 3 }, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : String(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (OPTION_NAMES.includes(key)) continue;
    throw new Error(
      `startSimulator: unknown option "${key}"${didYouMean(key, OPTION_NAMES)} ` +
        `(options: ${OPTION_NAMES.join(', ')})`,
    );
  }
  const resolved: ResolvedSimulatorOptions = {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    ceiling: options.ceiling ?? 3,
    advertised: options.advertised ?? 10,
    mode: options.mode ?? 'stall',
    stallMs: options.stallMs ?? 45_000,
    stallEnd: options.stallEnd ?? 'error',
    source: options.source ?? 'recorded',
    recordingsDir: options.recordingsDir,
    recording: options.recording,
    tokensPerSecond: options.tokensPerSecond ?? 200,
    outputTokens: options.outputTokens ?? 64,
    reasoningTokens: options.reasoningTokens ?? 0,
    thinkingPauseMs: options.thinkingPauseMs ?? 0,
    fault: options.fault,
    apiKey: options.apiKey,
    timelineLimit: options.timelineLimit ?? 10_000,
    onEvent: options.onEvent,
  };

  checkInteger('port', resolved.port, 0, 65_535);
  checkCeiling(resolved.ceiling);
  checkInteger('advertised', resolved.advertised, 1);
  checkMode(resolved.mode);
  checkInteger('stallMs', resolved.stallMs, 0);
  checkOneOf('stallEnd', resolved.stallEnd, STALL_ENDS);
  checkOneOf('source', resolved.source, SOURCES);
  checkInteger('outputTokens', resolved.outputTokens, 1);
  checkInteger('reasoningTokens', resolved.reasoningTokens, 0);
  checkInteger('thinkingPauseMs', resolved.thinkingPauseMs, 0);
  checkInteger('timelineLimit', resolved.timelineLimit, 1);

  if (typeof resolved.host !== 'string' || resolved.host === '') {
    throw new Error(`startSimulator: host must be a non-empty string such as '127.0.0.1'`);
  }
  const rate = resolved.tokensPerSecond;
  if (typeof rate !== 'number' || Number.isNaN(rate) || rate <= 0) {
    throw new Error(
      `startSimulator: tokensPerSecond must be a positive number (or Infinity), got ${String(rate)}`,
    );
  }
  if (resolved.recording !== undefined) {
    if (typeof resolved.recording !== 'string' || resolved.recording === '') {
      throw new Error(
        `startSimulator: recording must be a recording name (file name without .response.body), got ${JSON.stringify(resolved.recording)}`,
      );
    }
    if (resolved.source !== 'recorded') {
      throw new Error(
        `startSimulator: recording "${resolved.recording}" needs source: 'recorded', but source is '${resolved.source}'; drop one of the two`,
      );
    }
  }
  if (resolved.recordingsDir !== undefined && typeof resolved.recordingsDir !== 'string') {
    throw new Error(
      `startSimulator: recordingsDir must be a folder path, got ${JSON.stringify(resolved.recordingsDir)}`,
    );
  }
  if (resolved.apiKey !== undefined && (typeof resolved.apiKey !== 'string' || !resolved.apiKey)) {
    throw new Error('startSimulator: apiKey must be a non-empty string when set');
  }
  if (resolved.onEvent !== undefined && typeof resolved.onEvent !== 'function') {
    throw new Error('startSimulator: onEvent must be a function (event) => void');
  }
  if (resolved.fault !== undefined && typeof resolved.fault !== 'function') {
    validateFault(resolved.fault, 'startSimulator: fault');
  }
  return resolved;
}

/** @throws Error unless `ceiling` is a positive integer. */
export function checkCeiling(ceiling: unknown): asserts ceiling is number {
  checkInteger('ceiling', ceiling, 1);
}

/** @throws Error unless `mode` is one of `stall`, `reject`, `slow`. */
export function checkMode(mode: unknown): asserts mode is SimulatorMode {
  checkOneOf('mode', mode, MODES);
}

function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER) {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}-${max}`;
    throw new Error(`startSimulator: ${name} must be an integer ${range}, got ${String(value)}`);
  }
}

function checkOneOf(name: string, value: unknown, allowed: readonly string[]) {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new Error(
      `startSimulator: ${name} must be one of ${allowed.map((v) => `'${v}'`).join(', ')}, ` +
        `got ${JSON.stringify(value)}`,
    );
  }
}
