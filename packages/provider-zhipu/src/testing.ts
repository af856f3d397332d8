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
  /** Base URL(s) to answer on (the chat path is appended). Default: all four GLM endpoints. */
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
  return sseResponse(glmStreamEvents(options, requestedModel), {
    chunkDelayMs: options.chunkDelayMs,
  });
}

/** A non-streamed GLM completion (`stream: false`) as an msw response. */
export function glmCompletion(
  options: GlmStreamOptions = {},
  requestedModel = 'glm-4.6',
): Response {
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

/** A GLM error response: `{"error":{"code":"1302","message":"..."}}` with the matching status. */
export function glmError(code: number | string, options: GlmErrorOptions = {}): Response {
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

/**
 * Replays a recorded SSE body (as in the package's fixtures) one event per network chunk, so a
 * decoder sees real event boundaries. Non-SSE bodies are served as they are.
 */
export function glmReplay(
  bodyText: string,
  options: { status?: number; contentType?: string } = {},
): Response {
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

async function serve(step: ZhipuScriptStep, call: ZhipuCall): Promise<Response> {
  const resolved = typeof step === 'function' ? await step(call) : step;
  if (resolved instanceof Response) return resolved;
  const model = typeof call.body?.model === 'string' ? call.body.model : undefined;
  return call.body?.stream === false ? glmCompletion(resolved, model) : glmStream(resolved, model);
}

/**
 * A scripted GLM endpoint: each request gets the next script step; every request is recorded
 * (URL, headers, JSON body) so a test can assert what its agent sent, turn by turn.
 */
export function zhipuMock(options: ZhipuMockOptions = {}): ZhipuMock {
  const bases = options.baseURL ? [options.baseURL].flat() : Object.values(ZHIPU_ENDPOINTS);
  const script = [...(options.script ?? [])];
  const fallback = options.fallback ?? exhausted;
  const requests: ZhipuRecordedRequest[] = [];

  const resolver = async ({ request }: { request: Request }) => {
    const body = await readJson(request);
    const call: ZhipuCall = { number: requests.length + 1, request, body };
    requests.push({ number: call.number, url: request.url, headers: request.headers, body });
    return serve(script.shift() ?? fallback, call);
  };

  const handlers = bases.map((base) =>
    http.post(`${base.replace(/\/+$/, '')}/chat/completions`, resolver),
  );
  return { handlers, requests, remaining: () => script.length };
}

/** The handlers of {@link zhipuMock} alone, for `setupServer(...zhipuHandlers({ script }))`. */
export function zhipuHandlers(options: ZhipuMockOptions = {}): RequestHandler[] {
  return zhipuMock(options).handlers;
}
