/**
 * msw handlers that behave like the GLM chat endpoint, for contract tests of your own agents:
 * GLM-shaped SSE streams (reasoning, text, whole tool calls, GLM finish reasons, usage), GLM error
 * bodies with business codes, and replay of recorded traffic. Requires `msw` (an optional peer
 * dependency of this package).
 *
 * ```ts
 * import { setupServer } from 'msw/node';
 * import { glmError, zhipuMock } from '@sluice/provider-zhipu/testing';
 *
 * const mock = zhipuMock({ script: [glmError(1302), { text: 'Hello' }] });
 * const server = setupServer(...mock.handlers);
 * ```
 */
import { http, HttpResponse } from 'msw';
import type { RequestHandler } from 'msw';
import { ZHIPU_ENDPOINTS } from './zhipu-endpoints.js';
import {
  CHAT_PATH,
  checkDuration,
  checkHeaders,
  checkRequestedModel,
  checkStatus,
  checkStreamOptions,
  ERROR_FIELDS,
  isPlainObject,
  Issues,
  MOCK_FIELDS,
  normalizeBaseUrls,
  REPLAY_FIELDS,
  SSE_FIELDS,
} from './testing-validation.js';

/** A tool call the mock model makes. `arguments` given as an object is sent as a JSON string. */
export interface GlmToolCallSpec {
  id?: string;
  name: string;
  arguments: string | Record<string, unknown>;
}

/** GLM's usage object. */
export interface GlmUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  [extra: string]: unknown;
}

/** What one mocked answer contains. */
export interface GlmStreamOptions {
  /** The answer text: one string (split into word-sized deltas) or the exact deltas. */
  text?: string | string[];
  /** The reasoning (`reasoning_content`), sent before the text. */
  reasoning?: string | string[];
  toolCalls?: GlmToolCallSpec[];
  /** Default `tool_calls` when there are tool calls, else `stop`. GLM also sends `sensitive`, `network_error`. */
  finishReason?: string;
  /** Default: counts derived from the text lengths. `false` sends no usage. */
  usage?: GlmUsage | false;
  /** The `model` the response names; default the requested model (GLM may name a newer build). */
  model?: string;
  id?: string;
  /** Wait between two events, in ms. Default 0. */
  chunkDelayMs?: number;
  /** Silence after the reasoning and before the text, in ms, like GLM's thinking pauses. */
  thinkingPauseMs?: number;
  /** Send the final `data: [DONE]`. Default true. */
  done?: boolean;
}

/** A pause inside a raw event list, in ms. */
export interface SsePause {
  pauseMs: number;
}

/** One SSE event: an object (sent as `data: <json>`), a raw data string, or a pause. */
export type SseItem = Record<string, unknown> | string | SsePause;

/** What a script step's function receives. */
export interface ZhipuCall {
  /** 1-based number of the request this mock has served. */
  number: number;
  request: Request;
  /** The JSON body the client sent (undefined when it was not JSON). */
  body: Record<string, unknown> | undefined;
}

/**
 * One scripted answer: stream options (served as SSE, or as one JSON completion when the request
 * said `stream: false`), a ready Response (e.g. from {@link glmError}), or a function of the call.
 */
export type ZhipuScriptStep =
  | GlmStreamOptions
  | Response
  | ((call: ZhipuCall) => Response | GlmStreamOptions | Promise<Response | GlmStreamOptions>);

/** Options of {@link zhipuMock}. */
export interface ZhipuMockOptions {
  /**
   * Base URL(s) to answer on: the chat path is appended, unless the URL already ends with it (as
   * core takes such an endpoint). Default: all four GLM endpoints.
   */
  baseURL?: string | string[];
  /** One step per request, in order. */
  script?: ZhipuScriptStep[];
  /**
   * What to serve once the script is used up; must not be a Response (a body is read once).
   * Default: HTTP 400 with code `MOCK_SCRIPT_EXHAUSTED`, so an unplanned request fails loudly.
   */
  fallback?: Exclude<ZhipuScriptStep, Response>;
}

/** A request the mock received. */
export interface ZhipuRecordedRequest {
  number: number;
  url: string;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

/** The mock: handlers for `setupServer(...)`, and what it received. */
export interface ZhipuMock {
  handlers: RequestHandler[];
  requests: ZhipuRecordedRequest[];
  /** Steps not served yet. */
  remaining(): number;
}

const encoder = new TextEncoder();

function isPause(item: SseItem): item is SsePause {
  return typeof item === 'object' && item !== null && typeof item.pauseMs === 'number';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/**
 * An SSE response from raw items, one network chunk per event, with optional pauses. Use it for
 * shapes {@link glmStream} does not make, e.g. the tool-call quirks of C04 or a stream cut short.
 */
export function sseResponse(
  items: SseItem[],
  options: { chunkDelayMs?: number; status?: number; headers?: HeadersInit } = {},
): Response {
  checkSseArguments(items, options);
  const cancelled = new AbortController();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const item of items) {
        if (cancelled.signal.aborted) return;
        if (isPause(item)) {
          await sleep(item.pauseMs, cancelled.signal);
          continue;
        }
        if (options.chunkDelayMs) await sleep(options.chunkDelayMs, cancelled.signal);
        if (cancelled.signal.aborted) return;
        const data = typeof item === 'string' ? item : JSON.stringify(item);
        controller.enqueue(encoder.encode(`data: ${data}\n\n`));
      }
      controller.close();
    },
    cancel() {
      cancelled.abort();
    },
  });
  return new HttpResponse(stream, {
    status: options.status ?? 200,
    headers: { 'Content-Type': 'text/event-stream;charset=UTF-8', ...options.headers },
  });
}

/** Options of {@link sseResponse}, checked before any event is made. */
function checkSseArguments(items: unknown, options: unknown): void {
  const issues = new Issues('sseResponse arguments');
  if (!Array.isArray(items)) {
    issues.add(
      'items',
      'must be an array of events (objects, data strings or { pauseMs })',
      items,
      "write e.g. sseResponse([{ choices: [] }, '[DONE]'])",
    );
  } else {
    items.forEach((item: unknown, index) => {
      const path = `items[${index}]`;
      if (typeof item === 'string') return;
      if (!isPlainObject(item)) {
        issues.add(
          path,
          'must be an object (sent as JSON), a data string or a pause { pauseMs }',
          item,
          "write e.g. { choices: [] }, '[DONE]' or { pauseMs: 100 }",
        );
        return;
      }
      if (!('pauseMs' in item)) return;
      checkDuration(issues, `${path}.pauseMs`, item.pauseMs, '{ pauseMs: 100 }');
      if (item.pauseMs === undefined) {
        issues.add(
          `${path}.pauseMs`,
          'must be a number of ms >= 0',
          item.pauseMs,
          'write e.g. { pauseMs: 100 }',
        );
      }
      issues.unknownKeys(`${path}.`, item, ['pauseMs'], 'pause field (a pause sends nothing)');
    });
  }
  if (!isPlainObject(options)) {
    issues.add(
      'options',
      'must be an object',
      options,
      'write e.g. { chunkDelayMs: 20 }, or leave it out',
    );
  } else {
    issues.unknownKeys('', options, SSE_FIELDS, 'option');
    checkDuration(issues, 'chunkDelayMs', options.chunkDelayMs, 'chunkDelayMs: 20');
    checkStatus(issues, 'status', options.status, 200);
    checkHeaders(issues, 'headers', options.headers);
  }
  issues.throwIfAny();
}

/** Checks the arguments of glmStream / glmCompletion / glmStreamEvents. */
function checkAnswer(helper: string, options: unknown, requestedModel: unknown): void {
  const issues = new Issues(`${helper} options`);
  checkStreamOptions(issues, '', options, 'answer');
  checkRequestedModel(issues, requestedModel);
  issues.throwIfAny();
}

/** Splits text into word-sized deltas, leading whitespace attached, as GLM tokenizes. */
function deltasOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  return value.match(/\s*\S+|\s+/g) ?? [];
}

function argumentsOf(call: GlmToolCallSpec): string {
  return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
}

function usageOf(options: GlmStreamOptions, completionChars: number): GlmUsage | undefined {
  if (options.usage === false) return undefined;
  if (options.usage) return options.usage;
  // A rough 4 characters per token; tests that care pass `usage` explicitly.
  const completion = Math.max(1, Math.ceil(completionChars / 4));
  return { prompt_tokens: 10, completion_tokens: completion, total_tokens: 10 + completion };
}

function toolCallId(call: GlmToolCallSpec, index: number): string {
  return call.id ?? `call_mock_${index}`;
}

/**
 * The SSE events of one GLM answer, in GLM's order and shape: reasoning deltas, text deltas, each
 * tool call whole in one delta, then a last chunk with `finish_reason` and `usage`, then `[DONE]`.
 */
export function glmStreamEvents(
  options: GlmStreamOptions = {},
  requestedModel = 'glm-4.6',
): SseItem[] {
  checkAnswer('glmStreamEvents', options, requestedModel);
  const id = options.id ?? 'mock-glm-0001';
  const created = 1_767_225_600;
  const model = options.model ?? requestedModel;
  const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    id,
    created,
    model,
    choices: [{ index: 0, ...extra, delta }],
  });

  const reasoning = deltasOf(options.reasoning);
  const text = deltasOf(options.text);
  const toolCalls = options.toolCalls ?? [];
  const items: SseItem[] = [];

  for (const piece of reasoning) items.push(chunk({ role: 'assistant', reasoning_content: piece }));
  if (options.thinkingPauseMs) items.push({ pauseMs: options.thinkingPauseMs });
  for (const piece of text) items.push(chunk({ role: 'assistant', content: piece }));
  toolCalls.forEach((call, index) => {
    items.push(
      chunk({
        tool_calls: [
          {
            id: toolCallId(call, index),
            index,
            type: 'function',
            function: { name: call.name, arguments: argumentsOf(call) },
          },
        ],
      }),
    );
  });

  const finishReason = options.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop');
  const chars =
    [...reasoning, ...text].join('').length + toolCalls.map(argumentsOf).join('').length;
  const usage = usageOf(options, chars);
  items.push({
    ...chunk({ role: 'assistant', content: '' }, { finish_reason: finishReason }),
    ...(usage ? { usage } : {}),
  });
  if (options.done !== false) items.push('[DONE]');
  return items;
}

/** A streamed GLM answer as an msw response. */
export function glmStream(options: GlmStreamOptions = {}, requestedModel?: string): Response {
  checkAnswer('glmStream', options, requestedModel);
  return sseResponse(glmStreamEvents(options, requestedModel), {
    chunkDelayMs: options.chunkDelayMs,
  });
}

/** A non-streamed GLM completion (`stream: false`) as an msw response. */
export function glmCompletion(
  options: GlmStreamOptions = {},
  requestedModel = 'glm-4.6',
): Response {
  checkAnswer('glmCompletion', options, requestedModel);
  const text = deltasOf(options.text).join('');
  const reasoning = deltasOf(options.reasoning).join('');
  const toolCalls = options.toolCalls ?? [];
  const message: Record<string, unknown> = { role: 'assistant', content: text };
  if (reasoning) message.reasoning_content = reasoning;
  if (toolCalls.length > 0) {
    message.tool_calls = toolCalls.map((call, index) => ({
      id: toolCallId(call, index),
      index,
      type: 'function',
      function: { name: call.name, arguments: argumentsOf(call) },
    }));
  }
  const usage = usageOf(options, text.length + reasoning.length);
  return HttpResponse.json({
    id: options.id ?? 'mock-glm-0001',
    created: 1_767_225_600,
    model: options.model ?? requestedModel,
    choices: [
      {
        index: 0,
        finish_reason: options.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
        message,
      },
    ],
    ...(usage ? { usage } : {}),
  });
}

/** HTTP status and message GLM sends with a business code, when the caller gives none. */
function defaultsOf(code: number): { status: number; message: string } {
  if (code >= 1000 && code <= 1004) return { status: 401, message: '身份验证失败。' };
  if (code === 500) return { status: 500, message: '内部错误' };
  if (code === 1211) return { status: 400, message: '模型不存在，请检查模型代码。' };
  if (code === 1261) return { status: 400, message: 'Prompt 超长' };
  if (code === 1301) return { status: 400, message: '输入或生成内容可能包含不安全或敏感内容' };
  if (code >= 1210 && code <= 1215) return { status: 400, message: 'API 调用参数有误' };
  if (code === 1302) return { status: 429, message: '您当前使用该API的并发数过高，请降低并发' };
  if (code === 1303) return { status: 429, message: '您当前使用该API的频率过高，请降低频率' };
  if (code === 1305) return { status: 429, message: '该API已触发流量限制' };
  if (code === 1113) return { status: 429, message: '您的账户已欠费，请充值后重试。' };
  if (code === 1308 || code === 1310) {
    return { status: 429, message: '已达到使用上限。您的限额将在 2026-01-07 03:00:00 重置' };
  }
  if (code === 1311) return { status: 429, message: '当前订阅套餐暂未开放该模型权限' };
  if (code === 1312) return { status: 429, message: '该模型当前访问量过大，请您稍后再试' };
  return { status: 400, message: `mock error ${code}` };
}

/** Options of {@link glmError}. */
export interface GlmErrorOptions {
  /** HTTP status; default the one GLM sends with the code (429 for the limit codes). */
  status?: number;
  /** Default a short Chinese message, as the bigmodel.cn endpoints send. */
  message?: string;
  /** Send `code` as a number rather than GLM's usual string. */
  numericCode?: boolean;
  headers?: HeadersInit;
}

function checkErrorArguments(code: unknown, options: unknown): void {
  const issues = new Issues('glmError arguments');
  const codeOk =
    (typeof code === 'number' && Number.isSafeInteger(code) && code >= 0) ||
    (typeof code === 'string' && code.trim() !== '');
  if (!codeOk) {
    issues.add(
      'code',
      'must be a GLM business code: a whole number or a non-empty string',
      code,
      "write e.g. glmError(1302) or glmError('1302')",
    );
  }
  if (!isPlainObject(options)) {
    issues.add(
      'options',
      'must be an object',
      options,
      'write e.g. glmError(1302, { status: 503 })',
    );
  } else {
    issues.unknownKeys('', options, ERROR_FIELDS, 'option');
    checkStatus(issues, 'status', options.status, 400);
    if (options.message !== undefined && typeof options.message !== 'string') {
      issues.add(
        'message',
        'must be a string',
        options.message,
        "write e.g. message: 'busy', or leave it out for GLM's own message",
      );
    }
    if (options.numericCode !== undefined && typeof options.numericCode !== 'boolean') {
      issues.add(
        'numericCode',
        'must be true or false',
        options.numericCode,
        'write numericCode: true, or leave it out',
      );
    }
    if (options.numericCode === true && codeOk && !Number.isSafeInteger(Number(code))) {
      issues.add(
        'numericCode',
        'is true but the code is not a number',
        code,
        'give a numeric code, e.g. glmError(1302, { numericCode: true }), or leave numericCode out',
      );
    }
    checkHeaders(issues, 'headers', options.headers);
  }
  issues.throwIfAny();
}

/** A GLM error response: `{"error":{"code":"1302","message":"..."}}` with the matching status. */
export function glmError(code: number | string, options: GlmErrorOptions = {}): Response {
  checkErrorArguments(code, options);
  const numeric = Number(code);
  const defaults = defaultsOf(numeric);
  return HttpResponse.json(
    {
      error: {
        code: options.numericCode ? numeric : String(code),
        message: options.message ?? defaults.message,
      },
    },
    { status: options.status ?? defaults.status, headers: options.headers },
  );
}

function checkReplayArguments(bodyText: unknown, options: unknown): void {
  const issues = new Issues('glmReplay arguments');
  if (typeof bodyText !== 'string') {
    issues.add(
      'bodyText',
      'must be the recorded body as a string',
      bodyText,
      "read it as text first, e.g. glmReplay(readFileSync(file, 'utf8'))",
    );
  }
  if (!isPlainObject(options)) {
    issues.add(
      'options',
      'must be an object',
      options,
      'write e.g. { status: 200 }, or leave it out',
    );
  } else {
    issues.unknownKeys('', options, REPLAY_FIELDS, 'option');
    checkStatus(issues, 'status', options.status, 200);
    if (
      options.contentType !== undefined &&
      (typeof options.contentType !== 'string' || options.contentType === '')
    ) {
      issues.add(
        'contentType',
        'must be a content type',
        options.contentType,
        "write e.g. contentType: 'application/json', or leave it out for SSE",
      );
    }
  }
  issues.throwIfAny();
}

/**
 * Replays a recorded SSE body (as in the package's fixtures) one event per network chunk, so a
 * decoder sees real event boundaries. Non-SSE bodies are served as they are.
 */
export function glmReplay(
  bodyText: string,
  options: { status?: number; contentType?: string } = {},
): Response {
  checkReplayArguments(bodyText, options);
  const contentType = options.contentType ?? 'text/event-stream;charset=UTF-8';
  if (!contentType.includes('event-stream')) {
    return new HttpResponse(bodyText, {
      status: options.status ?? 200,
      headers: { 'Content-Type': contentType },
    });
  }
  const items = bodyText
    .split(/\r?\n\r?\n/)
    .map((block) => block.replace(/^data: ?/, '').trim())
    .filter((data) => data !== '');
  return sseResponse(items, { status: options.status, headers: { 'Content-Type': contentType } });
}

async function readJson(request: Request): Promise<Record<string, unknown> | undefined> {
  try {
    const value = (await request.clone().json()) as unknown;
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const exhausted = (call: ZhipuCall): Response =>
  HttpResponse.json(
    {
      error: {
        code: 'MOCK_SCRIPT_EXHAUSTED',
        message: `zhipu mock: request ${call.number} has no script step; add one or set fallback`,
      },
    },
    { status: 400 },
  );

/** A 400 naming what went wrong with a function step's answer, so the router does not retry it. */
const stepFailed = (call: ZhipuCall, where: string, error: unknown): Response =>
  HttpResponse.json(
    {
      error: {
        code: 'MOCK_STEP_FAILED',
        message: `zhipu mock: ${where} (request ${call.number}) failed: ${
          error instanceof Error ? error.message : String(error)
        }`,
      },
    },
    { status: 400 },
  );

async function serve(step: ZhipuScriptStep, call: ZhipuCall, where: string): Promise<Response> {
  let resolved: Response | GlmStreamOptions;
  try {
    resolved = typeof step === 'function' ? await step(call) : step;
  } catch (error) {
    return stepFailed(call, where, error);
  }
  if (resolved instanceof Response) {
    if (resolved.bodyUsed) {
      return stepFailed(
        call,
        where,
        new Error('it returned a Response whose body was already read; return a new one per call'),
      );
    }
    return resolved;
  }
  const model = typeof call.body?.model === 'string' ? call.body.model : undefined;
  try {
    // A function's answer can only be checked now; a plain step was checked by zhipuMock.
    return call.body?.stream === false
      ? glmCompletion(resolved, model)
      : glmStream(resolved, model);
  } catch (error) {
    return stepFailed(call, where, error);
  }
}

/** Checks every option and script step of zhipuMock; returns the base URLs to answer on. */
function checkMockOptions(options: unknown): string[] {
  const issues = new Issues('zhipuMock options');
  if (!isPlainObject(options)) {
    issues.add(
      '(root)',
      'must be an object',
      options,
      "write e.g. zhipuMock({ script: [{ text: 'Hello' }] })",
    );
    issues.throwIfAny();
    return [];
  }
  issues.unknownKeys('', options, MOCK_FIELDS, 'option');
  const bases =
    options.baseURL === undefined
      ? Object.values(ZHIPU_ENDPOINTS)
      : normalizeBaseUrls(issues, options.baseURL);
  const { script, fallback } = options;
  if (script !== undefined && !Array.isArray(script)) {
    issues.add(
      'script',
      'must be an array of steps, one per request',
      script,
      isPlainObject(script)
        ? 'wrap the step in an array: script: [{ ... }]'
        : "write e.g. script: [{ text: 'Hello' }]",
    );
  }
  const seen = new Map<Response, number>();
  (Array.isArray(script) ? (script as unknown[]) : []).forEach((step, index) => {
    const path = `script[${index}]`;
    if (typeof step === 'function') return;
    if (step instanceof Response) {
      const first = seen.get(step);
      if (first !== undefined) {
        issues.add(
          path,
          `is the same Response as script[${first}]; a body can be read only once`,
          undefined,
          'make a new one for each step, e.g. glmError(1302), glmError(1302)',
        );
      } else if (step.bodyUsed) {
        issues.add(
          path,
          'is a Response whose body was already read',
          undefined,
          'make a new one for this mock, e.g. glmError(1302) or glmStream({ ... })',
        );
      }
      seen.set(step, index);
      return;
    }
    checkStreamOptions(issues, `${path}.`, step, 'step');
  });
  if (fallback instanceof Response) {
    issues.add(
      'fallback',
      'must not be a Response (a body is read once, and a fallback may serve many requests)',
      undefined,
      'write a function that makes one per call, e.g. fallback: () => glmError(1302)',
    );
  } else if (fallback !== undefined && typeof fallback !== 'function') {
    checkStreamOptions(issues, 'fallback.', fallback, 'fallback');
  }
  issues.throwIfAny();
  return bases;
}

/**
 * A scripted GLM endpoint: each request gets the next script step; every request is recorded
 * (URL, headers, JSON body) so a test can assert what its agent sent, turn by turn.
 *
 * @throws ConfigError, when called, naming each option or step (`script[1].tool_calls`) that is
 *   not accepted: an unknown key (with a did-you-mean), a script that is not an array, a step
 *   field of the wrong type, a baseURL that is not an http(s) URL, a Response used twice.
 */
export function zhipuMock(options: ZhipuMockOptions = {}): ZhipuMock {
  const bases = checkMockOptions(options);
  const script = [...(options.script ?? [])];
  const fallback = options.fallback ?? exhausted;
  const requests: ZhipuRecordedRequest[] = [];
  let served = 0;

  const resolver = async ({ request }: { request: Request }) => {
    const body = await readJson(request);
    const call: ZhipuCall = { number: requests.length + 1, request, body };
    requests.push({ number: call.number, url: request.url, headers: request.headers, body });
    const step = script.shift();
    if (step === undefined) return serve(fallback, call, 'fallback');
    return serve(step, call, `script[${served++}]`);
  };

  const handlers = [...new Set(bases)].map((base) => http.post(`${base}${CHAT_PATH}`, resolver));
  return { handlers, requests, remaining: () => script.length };
}

/** The handlers of {@link zhipuMock} alone, for `setupServer(...zhipuHandlers({ script }))`. */
export function zhipuHandlers(options: ZhipuMockOptions = {}): RequestHandler[] {
  return zhipuMock(options).handlers;
}
