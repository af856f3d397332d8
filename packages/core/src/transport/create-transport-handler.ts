import type { ResolvedRoute } from '../config/resolved-route.js';
import { classifyHttpStatus } from '../descriptor/classify-http-status.js';
import type { Classification } from '../descriptor/types.js';
import { redactSecrets } from '../errors/redact.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import type { ModelResponse, Next, RequestContext } from '../pipeline/types.js';
import { decodeChatStream } from '../sse/decode-chat-stream.js';
import { parseChatCompletion } from '../sse/parse-chat-completion.js';
import { eventBase } from '../router/event-base.js';
import { buildChatRequestBody } from './build-chat-request-body.js';
import type { Transport } from './create-transport.js';
import { attachClassification } from './error-classification.js';
import { linkAbortSignal } from './link-abort-signal.js';
import { normalizeTransportError } from './normalize-transport-error.js';
import { parseRetryAfter } from './parse-retry-after.js';

/** Options of {@link createTransportHandler}. */
export interface TransportHandlerOptions {
  /** The transport (fetch + pool) of a route's provider instance. */
  transportFor(route: ResolvedRoute): Transport;
}

const ERROR_TEXT_LIMIT = 500;

/**
 * The terminal step of the pipeline: sends one attempt and returns once the response headers are
 * in. It builds the request (URL, JSON body via {@link buildChatRequestBody}, auth header from
 * `descriptor.auth.credential`), classifies a non-2xx answer with `descriptor.classify`, falling
 * back to `classifyHttpStatus`, from its status, headers and body, and decodes a 2xx body with
 * `decodeChatStream` into chat events, led by one `start` event naming the response's id, model,
 * attempt and route. A JSON body (`stream: false`, or a provider that ignores `stream`) is read
 * whole with `parseChatCompletion` into the same events.
 *
 * Every failure is a SluiceError: HTTP errors carry `status`, `providerCode` and `retryAfterMs`
 * (from `retry-after-ms` / `Retry-After` when the classifier gave none); socket failures go
 * through {@link normalizeTransportError}. The API key and the credential derived from it are
 * redacted from every message. `cancel()` and ending the body abort the fetch, so the socket is
 * closed and the caller's signal loses the listener this attempt added.
 */
export function createTransportHandler(options: TransportHandlerOptions): Next {
  return async function transport(context) {
    const route = context.route;
    const credential = credentialOf(route);
    const secrets = [route.apiKey, credential];
    const controller = new AbortController();
    const unlink = linkAbortSignal(context.signal, controller);
    const sentAt = performance.now();

    let response: Response;
    try {
      response = await options.transportFor(route).fetch(route.url, {
        method: 'POST',
        headers: requestHeaders(route, credential, context.request.stream !== false),
        body: JSON.stringify(buildChatRequestBody(context.request, route)),
        signal: controller.signal,
      });
    } catch (error) {
      unlink();
      throw normalizeTransportError(abortReasonOr(controller.signal, error), {
        phase: 'headers',
        route: route.name,
        providerId: route.provider.id,
        secrets,
      });
    }

    context.emit({
      ...eventBase(context),
      type: 'headers',
      attempt: context.attempt,
      status: response.status,
      headersMs: Math.round(performance.now() - sentAt),
    });

    if (!response.ok) {
      try {
        throw await httpError(context, response, secrets);
      } finally {
        unlink();
        controller.abort();
      }
    }

    // The body is read through a reader owned here, so `cancel()` reaches the body even when the
    // fetch implementation does not tie its signal to a body already handed out (msw does not).
    const reader = response.body?.getReader();
    let ended = false;
    const end = (reason?: unknown) => {
      if (ended) return;
      ended = true;
      unlink();
      controller.abort(reason);
      reader?.cancel(reason).catch(ignore);
    };
    return {
      status: response.status,
      headers: response.headers,
      events: streamEvents(context, response, reader, controller.signal, secrets, end),
      cancel: end,
    } satisfies ModelResponse;
  };
}

function ignore(): void {}

async function readText(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

/** The reader's chunks as an async iterable whose `return()` cancels the body. */
function chunksOf(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncIterable<Uint8Array> {
  const iterator: AsyncIterator<Uint8Array> = {
    next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
    return: async () => {
      await reader.cancel().catch(ignore);
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

async function* streamEvents(
  context: RequestContext,
  response: Response,
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined,
  signal: AbortSignal,
  secrets: Array<string | undefined>,
  end: (reason?: unknown) => void,
): AsyncGenerator<ChatEvent> {
  const route = context.route;
  let id: string | undefined;
  let model: string | undefined;
  let started = false;

  try {
    if (!reader) return;
    const options = {
      route: route.name,
      providerId: route.provider.id,
      classify: route.provider.classify,
      mapFinishReason: route.provider.mapFinishReason,
      headers: response.headers,
      onMetadata: (metadata: { id?: string; model?: string }) => {
        id = metadata.id;
        model = metadata.model;
      },
    };
    // A JSON body is a whole completion: asked for with `stream: false`, or sent by a provider
    // that ignores `stream: true` (and some send their errors this way with status 200).
    const isJson = /\bjson\b/i.test(response.headers.get('content-type') ?? '');
    const events = isJson
      ? parseChatCompletion(await readText(reader), options)
      : decodeChatStream(chunksOf(reader), options);
    for await (const event of events) {
      if (!started) {
        started = true;
        yield {
          type: 'start',
          ...(id === undefined ? {} : { id }),
          ...(model === undefined ? {} : { model }),
          attempt: context.attempt,
          route: route.name,
        };
      }
      yield event;
    }
  } catch (error) {
    throw normalizeTransportError(abortReasonOr(signal, error), {
      phase: 'stream',
      route: route.name,
      providerId: route.provider.id,
      secrets,
    });
  } finally {
    end();
  }
}

/** The abort's own reason when the fetch was aborted with one (a deadline's SluiceError). */
function abortReasonOr(signal: AbortSignal, error: unknown): unknown {
  if (signal.aborted && SluiceError.isInstance(signal.reason)) return signal.reason;
  return error;
}

function credentialOf(route: ResolvedRoute): string | undefined {
  const auth = route.provider.auth;
  if (auth.type === 'none' || route.apiKey === undefined) return undefined;
  return auth.credential ? auth.credential(route.apiKey, Date.now()) : route.apiKey;
}

function requestHeaders(
  route: ResolvedRoute,
  credential: string | undefined,
  stream: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
    ...route.provider.headers,
    ...route.headers,
  };

  const auth = route.provider.auth;
  if (auth.type === 'bearer') {
    if (credential === undefined) throw missingKeyError(route);
    const name = (auth.header ?? 'authorization').toLowerCase();
    headers[name] = name === 'authorization' ? `Bearer ${credential}` : credential;
  }
  return headers;
}

function missingKeyError(route: ResolvedRoute): SluiceError {
  const tried = route.apiKeyEnvTried.length > 0 ? route.apiKeyEnvTried.join(', ') : 'none';
  return new SluiceError({
    kind: 'auth',
    retryable: false,
    phase: 'config',
    message: `No API key for route "${route.name}" (provider instance ${route.instance}); env vars tried: ${tried}.`,
    hint: `Set one of them, or set apiKey on the provider instance "${route.instance}".`,
    route: route.name,
    providerId: route.provider.id,
  });
}

async function httpError(
  context: RequestContext,
  response: Response,
  secrets: Array<string | undefined>,
): Promise<SluiceError> {
  const route = context.route;
  let bodyText = '';
  try {
    bodyText = await response.text();
  } catch {
    // A body that cannot be read still leaves the status to classify by.
  }

  let body: unknown;
  try {
    body = bodyText === '' ? undefined : JSON.parse(bodyText);
  } catch {
    body = undefined;
  }

  const input = { status: response.status, headers: response.headers, body, bodyText };
  const byStatus = classifyHttpStatus(response.status);
  const classification: Classification = route.provider.classify?.(input) ?? byStatus;
  const retryAfterMs = classification.retryAfterMs ?? parseRetryAfter(response.headers);
  const detail = classification.message ?? wireMessage(body) ?? clip(bodyText);
  const message = redactSecrets(
    `HTTP ${response.status} from route "${route.name}" (provider ${route.provider.id})${
      detail ? `: ${detail}` : '.'
    }`,
    secrets,
  );

  const error = new SluiceError({
    kind: classification.kind,
    ...(classification.retryable === undefined ? {} : { retryable: classification.retryable }),
    phase: 'headers',
    message,
    ...(classification.hint ? { hint: redactSecrets(classification.hint, secrets) } : {}),
    route: route.name,
    providerId: route.provider.id,
    status: response.status,
    ...(classification.providerCode === undefined
      ? {}
      : { providerCode: classification.providerCode }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
  attachClassification(error, classification);
  return error;
}

function wireMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const inner = (body as { error?: unknown }).error;
  const source = typeof inner === 'object' && inner !== null ? inner : body;
  const message = (source as { message?: unknown }).message;
  return typeof message === 'string' && message !== '' ? message : undefined;
}

function clip(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > ERROR_TEXT_LIMIT ? `${trimmed.slice(0, ERROR_TEXT_LIMIT)}…` : trimmed;
}
