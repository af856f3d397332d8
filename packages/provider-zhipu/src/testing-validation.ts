/**
 * Checks of what the testing helpers are given, run when a mock, a step or an error response is
 * made (never inside an msw handler, where a throw becomes an HTTP 500 that the router retries and
 * the cause is lost). Every problem is collected and thrown as one ConfigError naming the option or
 * the step (`script[1].tool_calls`), what was wrong and the fix, with a did-you-mean for typos.
 */
import { ConfigError, closestName, maskSecret, valueForMessage } from '@sluice/core';
import type { ConfigIssue } from '@sluice/core';

/** The chat path the mock appends to a base URL (and that core appends to an endpoint). */
export const CHAT_PATH = '/chat/completions';

/** The fields of a plain step (GlmStreamOptions), in the README's order. */
export const STEP_FIELDS = [
  'text',
  'reasoning',
  'toolCalls',
  'finishReason',
  'usage',
  'model',
  'id',
  'chunkDelayMs',
  'thinkingPauseMs',
  'done',
];
export const MOCK_FIELDS = ['baseURL', 'script', 'fallback'];
export const ERROR_FIELDS = ['status', 'message', 'numericCode', 'headers'];
export const SSE_FIELDS = ['chunkDelayMs', 'status', 'headers'];
export const REPLAY_FIELDS = ['status', 'contentType'];
const TOOL_CALL_FIELDS = ['id', 'name', 'arguments'];
const USAGE_COUNTS = ['prompt_tokens', 'completion_tokens', 'total_tokens'];

/**
 * Spellings from GLM's wire format, OpenAI's SDK or other mocks that are too far from ours for an
 * edit-distance match, mapped to the field they mean.
 */
const ALIASES: Record<string, string> = {
  statusCode: 'status',
  status_code: 'status',
  httpStatus: 'status',
  content: 'text',
  reasoning_content: 'reasoning',
  reasoningContent: 'reasoning',
  tool_calls: 'toolCalls',
  tools: 'toolCalls',
  finish_reason: 'finishReason',
  base_url: 'baseURL',
  url: 'baseURL',
  endpoint: 'baseURL',
  steps: 'script',
  responses: 'script',
  delayMs: 'chunkDelayMs',
  msg: 'message',
  function: 'name',
  args: 'arguments',
  content_type: 'contentType',
};

/** Collects issues; {@link Issues.throwIfAny} throws them as one ConfigError. */
export class Issues {
  readonly list: ConfigIssue[] = [];

  constructor(readonly subject: string) {}

  add(path: string, message: string, value: unknown, fix: string): void {
    this.list.push({
      path,
      message,
      ...(value === undefined ? {} : { value: valueForMessage(value) }),
      fix,
    });
  }

  /** Unknown keys of `value` (with a did-you-mean), given the accepted `fields`. */
  unknownKeys(prefix: string, value: Record<string, unknown>, fields: string[], what: string) {
    for (const key of Object.keys(value)) {
      if (fields.includes(key)) continue;
      const suggestion =
        ALIASES[key] !== undefined && fields.includes(ALIASES[key])
          ? ALIASES[key]
          : closestName(key, fields);
      this.add(
        `${prefix}${key}`,
        `unknown ${what}${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`,
        undefined,
        suggestion === undefined
          ? `use one of ${fields.join(', ')}, or remove it`
          : `rename it to ${suggestion} (accepted: ${fields.join(', ')})`,
      );
    }
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new ConfigError({ subject: this.subject, issues: this.list });
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function isWholeNumber(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

function isDuration(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Checks a whole-or-fractional ms field (`chunkDelayMs`, `thinkingPauseMs`, `pauseMs`). */
export function checkDuration(issues: Issues, path: string, value: unknown, example: string) {
  if (value !== undefined && !isDuration(value)) {
    issues.add(
      path,
      'must be a number of ms >= 0',
      value,
      `write e.g. ${example}, or leave it out`,
    );
  }
}

/** Checks an HTTP status: a whole number from `min` (400, or 200 for a served body) to 599. */
export function checkStatus(issues: Issues, path: string, value: unknown, min: 200 | 400) {
  if (value === undefined || isWholeNumber(value, min, 599)) return;
  issues.add(
    path,
    min === 400
      ? 'must be an HTTP error status, a whole number from 400 to 599'
      : 'must be an HTTP status, a whole number from 200 to 599',
    value,
    min === 400
      ? 'write e.g. status: 503, or leave it out for the status GLM sends with the code'
      : 'write e.g. status: 200, or leave it out',
  );
}

/** Checks `headers`: a Headers, a plain object of names to strings, or [name, value] pairs. */
export function checkHeaders(issues: Issues, path: string, value: unknown) {
  if (value === undefined) return;
  const shaped =
    value instanceof Headers ||
    (Array.isArray(value) &&
      value.every(
        (pair) =>
          Array.isArray(pair) &&
          pair.length === 2 &&
          pair.every((part) => typeof part === 'string'),
      )) ||
    (isPlainObject(value) && Object.values(value).every((item) => typeof item === 'string'));
  let valid = shaped;
  if (shaped) {
    try {
      new Headers(value as HeadersInit);
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    issues.add(
      path,
      'must be headers: an object of header names to string values, [name, value] pairs or a Headers',
      value,
      "write e.g. headers: { 'retry-after': '2' }",
    );
  }
}

function checkTextField(issues: Issues, path: string, value: unknown, field: string) {
  if (value === undefined || typeof value === 'string') return;
  if (Array.isArray(value) && value.every((piece) => typeof piece === 'string')) return;
  issues.add(
    path,
    'must be a string or an array of strings (the exact deltas)',
    value,
    typeof value === 'number'
      ? `write ${field}: '${String(value)}' (a string)`
      : `write e.g. ${field}: 'Hello' or ${field}: ['Hel', 'lo']`,
  );
}

function checkToolCalls(issues: Issues, path: string, value: unknown) {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    issues.add(
      path,
      'must be an array of tool calls',
      value,
      "write e.g. toolCalls: [{ name: 'weather', arguments: { city: 'Florence' } }]",
    );
    return;
  }
  value.forEach((call: unknown, index) => {
    const at = `${path}[${index}]`;
    if (!isPlainObject(call)) {
      issues.add(
        at,
        'must be a tool call object { id?, name, arguments }',
        call,
        "write e.g. { name: 'weather', arguments: { city: 'Florence' } }",
      );
      return;
    }
    if (isPlainObject(call.function)) {
      // OpenAI's wire shape: the mock builds the `function` object itself.
      issues.add(
        `${at}.function`,
        'unknown tool call field (the OpenAI wire shape); the mock builds `function` from name and arguments',
        undefined,
        'write { name, arguments } at the top of the tool call, e.g. ' +
          "{ name: 'weather', arguments: { city: 'Florence' } }",
      );
    } else {
      issues.unknownKeys(`${at}.`, call, TOOL_CALL_FIELDS, 'tool call field');
    }
    if (call.id !== undefined && (typeof call.id !== 'string' || call.id === '')) {
      issues.add(
        `${at}.id`,
        'must be a non-empty string',
        call.id,
        "write e.g. id: 'call_1', or leave it out",
      );
    }
    if (!isPlainObject(call.function) && (typeof call.name !== 'string' || call.name === '')) {
      issues.add(
        `${at}.name`,
        call.name === undefined ? 'is missing' : 'must be a non-empty string',
        call.name,
        "write the tool's name, e.g. name: 'weather'",
      );
    }
    if (
      !isPlainObject(call.function) &&
      typeof call.arguments !== 'string' &&
      !isPlainObject(call.arguments)
    ) {
      issues.add(
        `${at}.arguments`,
        call.arguments === undefined
          ? 'is missing'
          : 'must be an object (sent as a JSON string) or a JSON string',
        call.arguments,
        "write e.g. arguments: { city: 'Florence' }, or arguments: {} for a call with none",
      );
    }
  });
}

function checkUsage(issues: Issues, path: string, value: unknown) {
  if (value === undefined || value === false) return;
  if (!isPlainObject(value)) {
    issues.add(
      path,
      'must be a usage object or false',
      value,
      'write e.g. usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 }, or usage: false for none',
    );
    return;
  }
  for (const field of USAGE_COUNTS) {
    if (isWholeNumber(value[field], 0)) continue;
    const camel = field.replace(/_(\w)/g, (_, letter: string) => letter.toUpperCase());
    issues.add(
      `${path}.${field}`,
      `${value[field] === undefined ? 'is missing' : 'must be a whole number >= 0'}${
        value[camel] === undefined ? '' : `; usage uses GLM's snake_case names, not "${camel}"`
      }`,
      value[field],
      "write usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } (GLM's field names)",
    );
  }
}

/**
 * Checks the fields of one answer (a plain script step, a fallback, or the options of glmStream /
 * glmCompletion). `prefix` is the path to the step, e.g. `script[1].`; empty for a helper's own
 * options.
 */
export function checkStreamOptions(issues: Issues, prefix: string, value: unknown, what: string) {
  if (!isPlainObject(value)) {
    issues.add(
      prefix === '' ? '(root)' : prefix.replace(/\.$/, ''),
      what === 'step'
        ? 'must be an answer object, a Response (e.g. from glmError) or a function of the call'
        : 'must be an answer object',
      value,
      "write e.g. { text: 'Hello' } or { toolCalls: [{ name: 'weather', arguments: {} }] }",
    );
    return;
  }
  issues.unknownKeys(prefix, value, STEP_FIELDS, `${what} field`);
  checkTextField(issues, `${prefix}text`, value.text, 'text');
  checkTextField(issues, `${prefix}reasoning`, value.reasoning, 'reasoning');
  checkToolCalls(issues, `${prefix}toolCalls`, value.toolCalls);
  if (
    value.finishReason !== undefined &&
    (typeof value.finishReason !== 'string' || value.finishReason === '')
  ) {
    issues.add(
      `${prefix}finishReason`,
      'must be a non-empty string',
      value.finishReason,
      "write e.g. finishReason: 'stop', 'length', 'sensitive' or 'network_error', or leave it out",
    );
  }
  checkUsage(issues, `${prefix}usage`, value.usage);
  for (const field of ['model', 'id'] as const) {
    if (value[field] !== undefined && (typeof value[field] !== 'string' || value[field] === '')) {
      issues.add(
        `${prefix}${field}`,
        'must be a non-empty string',
        value[field],
        field === 'model'
          ? "write e.g. model: 'glm-4.6-0930', or leave it out"
          : 'leave it out for the default id',
      );
    }
  }
  checkDuration(issues, `${prefix}chunkDelayMs`, value.chunkDelayMs, 'chunkDelayMs: 20');
  checkDuration(issues, `${prefix}thinkingPauseMs`, value.thinkingPauseMs, 'thinkingPauseMs: 1000');
  if (value.done !== undefined && typeof value.done !== 'boolean') {
    issues.add(
      `${prefix}done`,
      'must be true or false',
      value.done,
      'write done: false to leave out data: [DONE], or leave it out',
    );
  }
}

/** Checks the `requestedModel` argument of glmStream / glmCompletion / glmStreamEvents. */
export function checkRequestedModel(issues: Issues, value: unknown) {
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    issues.add(
      'requestedModel',
      'must be a model id',
      value,
      "pass e.g. 'glm-4.6' as the second argument, or leave it out",
    );
  }
}

/**
 * The base URLs of a mock, each without trailing slashes and without the chat path when it was
 * pasted with it (core takes such an endpoint as is, without doubling the path). Adds an issue for
 * each one that is not an http(s) URL.
 */
export function normalizeBaseUrls(issues: Issues, value: unknown): string[] {
  const list: unknown[] = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && value.length === 0) {
    issues.add(
      'baseURL',
      'is an empty array, so the mock answers on no endpoint',
      value,
      "write e.g. baseURL: 'https://api.z.ai/api/coding/paas/v4', or leave it out for all four GLM endpoints",
    );
  }
  const bases: string[] = [];
  list.forEach((item, index) => {
    const path = Array.isArray(value) ? `baseURL[${index}]` : 'baseURL';
    let url: URL | undefined;
    try {
      url = typeof item === 'string' ? new URL(item) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      issues.add(
        path,
        'must be an http(s) base URL',
        typeof item === 'string' ? maskSecret(item) : item,
        "write e.g. baseURL: 'https://api.z.ai/api/coding/paas/v4' (the chat path is appended)",
      );
      return;
    }
    if (url.search !== '' || url.hash !== '') {
      issues.add(
        path,
        'must have no query or fragment (the mock matches the path only)',
        maskSecret(item as string),
        `write the base URL alone, e.g. '${url.origin}${url.pathname.replace(/\/+$/, '')}'`,
      );
      return;
    }
    let base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    if (base.endsWith(CHAT_PATH)) base = base.slice(0, -CHAT_PATH.length);
    bases.push(base);
  });
  return bases;
}
