import { didYouMean } from './closest-name.js';

/**
 * A fault the simulator injects into one request. Set it for every request with the `fault`
 * option, per request with a function, or from a test with the `x-sim-fault` request header.
 * Fields combine: `{ thinkingPauseMs: 500, resetAfterChunks: 3 }` pauses, then resets.
 */
export interface SimulatorFault {
  /**
   * Served, but the response headers wait this long, in ms (a slow first byte while holding a
   * slot, unlike a stall past the ceiling, which never gets served).
   */
  headersDelayMs?: number;

  /** Silence after the response headers and before the first delta, in ms (a thinking phase). */
  thinkingPauseMs?: number;

  /** Reset the socket (TCP RST, no `[DONE]`) after this many SSE events were written. */
  resetAfterChunks?: number;

  /**
   * After this many SSE events, write half of the next event (the body stops inside a JSON
   * value) and end the response normally at the HTTP level, without `[DONE]`.
   */
  truncateAfterChunks?: number;

  /**
   * Answer at once with this HTTP status and a GLM error body, without taking a concurrency slot.
   * 429 defaults to code 1302, 503 to 1305, 401 to 1000, 400 to 1210, anything else to 500.
   */
  status?: number;

  /** Business code in the error body (with `status`), for example `'1305'`. */
  code?: string;

  /** `Retry-After` header in seconds sent with a `status` fault. */
  retryAfterSeconds?: number;

  /**
   * Finish reason written on the last chunk instead of the recorded one: the GLM-only values
   * `'network_error'` (HTTP said 200 yet generation failed) and `'sensitive'` (content filter).
   */
  finishReason?: string;
}

/** Name of the request header that carries a per-request fault. */
export const FAULT_HEADER = 'x-sim-fault';

const NUMERIC_KEYS: Record<string, keyof SimulatorFault> = {
  'headers-delay-ms': 'headersDelayMs',
  'thinking-pause-ms': 'thinkingPauseMs',
  'reset-after': 'resetAfterChunks',
  'truncate-after': 'truncateAfterChunks',
  status: 'status',
  'retry-after': 'retryAfterSeconds',
};

const TEXT_KEYS: Record<string, keyof SimulatorFault> = {
  code: 'code',
  finish: 'finishReason',
};

/**
 * Parses the `x-sim-fault` header: `key=value` pairs separated by `,` or `;`, for example
 * `status=429, code=1305, retry-after=2` or `thinking-pause-ms=800; reset-after=3`. Keys:
 * `headers-delay-ms`, `thinking-pause-ms`, `reset-after`, `truncate-after`, `status`, `code`,
 * `retry-after`, `finish`.
 * A JSON object with {@link SimulatorFault} fields is accepted too.
 *
 * @throws Error naming the bad key or value and the accepted form.
 */
export function parseFaultHeader(value: string): SimulatorFault {
  const text = value.trim();
  if (text.startsWith('{')) return parseJsonFault(text);

  const fault: SimulatorFault = {};
  for (const part of text.split(/[,;]/)) {
    const item = part.trim();
    if (item === '') continue;

    const eq = item.indexOf('=');
    const key = (eq === -1 ? item : item.slice(0, eq)).trim().toLowerCase();
    const raw = eq === -1 ? '' : item.slice(eq + 1).trim();
    const numericField = NUMERIC_KEYS[key];
    const textField = TEXT_KEYS[key];

    if (numericField !== undefined) {
      const number = Number(raw);
      if (raw === '' || !Number.isInteger(number) || number < 0) {
        throw new Error(
          `${FAULT_HEADER}: "${key}" needs a non-negative integer, got "${raw}" (e.g. ${key}=3)`,
        );
      }
      (fault as Record<string, number>)[numericField] = number;
    } else if (textField !== undefined) {
      if (raw === '') throw new Error(`${FAULT_HEADER}: "${key}" needs a value (e.g. ${key}=1305)`);
      (fault as Record<string, string>)[textField] = raw;
    } else {
      const known = [...Object.keys(NUMERIC_KEYS), ...Object.keys(TEXT_KEYS)].join(', ');
      throw new Error(`${FAULT_HEADER}: unknown key "${key}"; use one of ${known}`);
    }
  }
  return validateFault(fault, FAULT_HEADER);
}

function parseJsonFault(text: string): SimulatorFault {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${FAULT_HEADER}: not valid JSON; send key=value pairs or a JSON object`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${FAULT_HEADER}: expected a JSON object of fault fields`);
  }
  return validateFault(parsed as SimulatorFault, FAULT_HEADER);
}

const NUMERIC_FIELDS = [
  'headersDelayMs',
  'thinkingPauseMs',
  'resetAfterChunks',
  'truncateAfterChunks',
  'status',
  'retryAfterSeconds',
] as const;

const FAULT_FIELDS: ReadonlyArray<keyof SimulatorFault> = [
  ...NUMERIC_FIELDS,
  'code',
  'finishReason',
];

/**
 * Checks a fault's fields and returns it unchanged. A field it does not know is an error, so a
 * typo does not silently leave the fault out.
 *
 * @param where what to name in the error, such as `fault` or `x-sim-fault`
 * @throws Error naming the field, the value and what is accepted.
 */
export function validateFault(fault: SimulatorFault, where: string): SimulatorFault {
  for (const key of Object.keys(fault)) {
    if (!(FAULT_FIELDS as readonly string[]).includes(key)) {
      throw new Error(
        `${where}: unknown fault field "${key}"${didYouMean(key, FAULT_FIELDS)}; ` +
          `use ${FAULT_FIELDS.join(', ')}`,
      );
    }
  }
  for (const field of NUMERIC_FIELDS) {
    const value = fault[field];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new Error(`${where}.${field} must be a non-negative integer, got ${String(value)}`);
    }
  }
  if (fault.status !== undefined && (fault.status < 400 || fault.status > 599)) {
    throw new Error(`${where}.status must be an HTTP error status 400-599, got ${fault.status}`);
  }
  for (const field of ['code', 'finishReason'] as const) {
    const value = fault[field];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new Error(`${where}.${field} must be a non-empty string, got ${String(value)}`);
    }
  }
  return fault;
}
