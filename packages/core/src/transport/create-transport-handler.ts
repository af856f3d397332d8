import type { ResolvedRoute } from '../config/resolved-route.js';
import { classifyHttpStatus } from '../descriptor/classify-http-status.js';
import type { Classification, ClassifyInput, ClassifyRoute } from '../descriptor/types.js';
import { maskUrlSecrets } from '../config/config-issues.js';
import { redactSecrets } from '../errors/redact.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import { batchedEvents, eventBatchesOf, type EventBatches } from '../pipeline/event-batches.js';
import { abortScopeOf, abortStateOf, type AbortState } from '../pipeline/abort-scope.js';
import type { ModelResponse, Next, RequestContext } from '../pipeline/types.js';
import { decodeChatStream } from '../sse/decode-chat-stream.js';
import { parseChatCompletion } from '../sse/parse-chat-completion.js';
import { DeadlineClock, type Deadline } from '../router/deadline-clock.js';
import { eventBase } from '../router/event-base.js';
import { buildChatRequestBody } from './build-chat-request-body.js';
import type { Transport } from './create-transport.js';
import { attachClassification } from './error-classification.js';
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
 * redacted from every message. `cancel()` and leaving the body early cancel its reader, which
 * closes the socket; a body read to its end keeps the socket for keep-alive.
 */
export function createTransportHandler(options: TransportHandlerOptions): Next {
  // Bounds the background reads of bodies left after [DONE] (see chunksOf), with one timer.
  const drains = new DeadlineClock();
  return async function transport(context) {
    const route = context.route;
    const credential = credentialOf(route);
    const secrets = [route.apiKey, credential];
    // The request is aborted through the attempt's own scope: the deadlines middleware gives each
    // attempt one, so nothing lands on a caller's long-lived signal. A context without one (a
    // pipeline composed without the router) gives fetch its signal. After the headers,
    // cancelling the body's reader is what closes the socket.
    const scope = abortScopeOf(context);
    const aborted = abortStateOf(context);
    const sentAt = performance.now();

    // A request that cannot be serialized fails the same way at every attempt: not a network error.
    const body = serializeRequest(context);
    let response: Response;
    try {
      if (aborted.aborted) throw aborted.reason;
      const init: RequestInit = {
        method: 'POST',
        headers: requestHeaders(route, credential, context.request.stream !== false),
        body,
        // A chat endpoint has no business redirecting a POST that carries a key. With 'error',
        // fetch also skips cloning the request (a tee of its body stream) on every send, which
        // measured about 45 µs of CPU per request on the router-overhead bench.
        redirect: 'error',
      };
      const transport = options.transportFor(route);
      response = await (scope
        ? transport.send(route.url, init, scope)
        : transport.fetch(route.url, { ...init, signal: context.signal }));
    } catch (error) {
      throw normalizeTransportError(abortReasonOr(aborted, error), {
        phase: 'headers',
        route: route.name,
        providerId: route.provider.id,
        secrets,
      });
    }

    if (context.observed?.() !== false) {
      context.emit({
        ...eventBase(context),
        type: 'headers',
        attempt: context.attempt,
        status: response.status,
        headersMs: Math.round(performance.now() - sentAt),
      });
    }

    if (!response.ok) {
      throw await httpError(context, response, secrets);
    }
    if (response.body === null) {
      // 204 No Content and the like: a chat endpoint that answers nothing is not one.
      throw notAnAnswerError(context, response.status, 'no body');
    }
    if (/^\s*text\/html\b/i.test(response.headers.get('content-type') ?? '')) {
      // A web page, not an answer: a wrong endpoint, or a proxy's login or error page.
      response.body?.cancel().catch(ignore);
      throw notAnAnswerError(context, response.status, 'a web page (content-type text/html)');
    }

    // The body is read through a reader owned here, so `cancel()` reaches the body even when the
    // fetch implementation does not tie its signal to a body already handed out (msw does not).
    const reader = response.body.getReader();
    const state: BodyState = { ended: false, cancelled: undefined };
    // `complete`: the body was read to its end (or [DONE]); cancelling it then would cost the
    // keep-alive socket.
    const end = (reason?: unknown, complete = false) => {
      if (state.ended) return;
      state.ended = true;
      if (complete) return;
      state.cancelled = cancelledError(context, reason);
      reader.cancel(reason).catch(ignore);
    };
    return {
      status: response.status,
      headers: response.headers,
      events: streamEvents(context, response, reader, aborted, secrets, end, state, drains),
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

const DRAIN_MS = 1_000;

/**
 * The reader's chunks as an async iterable. The decoder calls `return()` when it stops before the
 * body's end, usually at `data: [DONE]`, when the rest of the body is nothing or a final line
 * feed: that rest is read in the background rather than cancelled, because cancelling a fetch
 * body destroys its socket and the next request would pay a new connection. Anything more than a
 * chunk, or a body still open after DRAIN_MS, is cancelled.
 */
function chunksOf(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  drains: DeadlineClock,
): AsyncIterable<Uint8Array> {
  const iterator: AsyncIterator<Uint8Array> = {
    next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
    return: async () => {
      drain(reader, drains);
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

function drain(reader: ReadableStreamDefaultReader<Uint8Array>, drains: DeadlineClock): void {
  const deadline: Deadline = {
    atMs: Date.now() + DRAIN_MS,
    check: () => {
      reader.cancel().catch(ignore);
      return undefined;
    },
  };
  drains.add(deadline);
  reader.read().then(
    (step) => {
      drains.delete(deadline);
      if (!step.done) reader.cancel().catch(ignore);
    },
    () => drains.delete(deadline),
  );
}

function streamEvents(
  context: RequestContext,
  response: Response,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  aborted: AbortState,
  secrets: Array<string | undefined>,
  end: (reason?: unknown, complete?: boolean) => void,
  state: BodyState,
  drains: DeadlineClock,
): AsyncIterable<ChatEvent> {
  const route = context.route;
  const metadata: { id?: string | undefined; model?: string | undefined } = {};
  const options = {
    route: route.name,
    providerId: route.provider.id,
    classify: route.provider.classify,
    classifyRoute: classifyRouteOf(route),
    mapFinishReason: route.provider.mapFinishReason,
    headers: response.headers,
    // Errors and `error` events built from the body (an error frame may quote the key back).
    secrets,
    status: response.status,
    onMetadata: (named: { id?: string; model?: string }) => {
      metadata.id = named.id;
      metadata.model = named.model;
    },
  };

  let source: AsyncIterable<ChatEvent>;
  if (/\bjson\b/i.test(response.headers.get('content-type') ?? '')) {
    // A JSON body is a whole completion: asked for with `stream: false`, or sent by a provider
    // that ignores `stream: true` (and some send their errors this way with status 200).
    source = (async function* () {
      yield* parseChatCompletion(await readText(reader), options);
    })();
  } else {
    source = decodeChatStream(chunksOf(reader, drains), options);
  }

  const batches = new TransportBatches(eventBatchesOf(source), {
    start: () => ({
      type: 'start',
      ...(metadata.id === undefined ? {} : { id: metadata.id }),
      ...(metadata.model === undefined ? {} : { model: metadata.model }),
      attempt: context.attempt,
      route: route.name,
    }),
    // Once cancelled, whatever the cut body gives (an end, a truncation) is the cancellation.
    cancelled: () => state.cancelled,
    normalize: (error) =>
      state.cancelled ??
      normalizeTransportError(abortReasonOr(aborted, error), {
        phase: 'stream',
        route: route.name,
        providerId: route.provider.id,
        secrets,
      }),
    end,
  });
  return batchedEvents(batches);
}

/** Whether the body has ended, and the error of a cancel that ended it early. */
interface BodyState {
  ended: boolean;
  cancelled: SluiceError | undefined;
}

function cancelledError(context: RequestContext, reason: unknown): SluiceError {
  if (SluiceError.isInstance(reason)) return reason;
  return new SluiceError({
    kind: 'aborted',
    phase: 'stream',
    message: `The response of route "${context.route.name}" was cancelled before its end.`,
    route: context.route.name,
    providerId: context.route.provider.id,
    cause: reason,
  });
}

interface TransportEventHooks {
  /** The `start` event, built when the first event arrives. */
  start: () => ChatEvent;
  cancelled: () => SluiceError | undefined;
  normalize: (error: unknown) => unknown;
  end: (reason?: unknown, complete?: boolean) => void;
}

/**
 * The decoded body with the router's `start` event in front, in batches: this is the hot path of
 * every stream, and it costs one `.then` per network read.
 */
class TransportBatches implements EventBatches {
  readonly #source: EventBatches;
  readonly #hooks: TransportEventHooks;
  #started = false;
  #ended = false;

  constructor(source: EventBatches, hooks: TransportEventHooks) {
    this.#source = source;
    this.#hooks = hooks;
  }

  next(): Promise<ChatEvent[] | undefined> {
    if (this.#ended) return Promise.resolve(undefined);
    return this.#source.next().then(this.#onBatch, this.#onError);
  }

  return(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#hooks.end(undefined, false);
    this.#source.return();
  }

  readonly #onBatch = (batch: ChatEvent[] | undefined): ChatEvent[] | undefined => {
    if (this.#ended) return undefined;
    const cancelled = this.#hooks.cancelled();
    if (cancelled) {
      this.#ended = true;
      throw cancelled;
    }
    if (batch === undefined) {
      this.#ended = true;
      this.#hooks.end(undefined, true);
      return undefined;
    }
    if (this.#started) return batch;

    // The first events of the body: `start` goes in front (the decoder has named id and model
    // by now).
    this.#started = true;
    batch.unshift(this.#hooks.start());
    return batch;
  };

  readonly #onError = (error: unknown): never => {
    const normalized = this.#hooks.normalize(error);
    this.#ended = true;
    this.#hooks.end(undefined, false);
    throw normalized;
  };
}

/**
 * The abort's own reason when the request was aborted (a deadline's SluiceError, the caller's
 * reason): what undici fails the fetch with then is only a consequence of it.
 */
function abortReasonOr(state: AbortState, error: unknown): unknown {
  return state.aborted ? state.reason : error;
}

const classifyRoutes = new WeakMap<ResolvedRoute, ClassifyRoute>();

/**
 * What a classifier may know of the route: no key, and the URL with its secrets masked. Made
 * once per resolved route (masking parses the URL), so a request pays a WeakMap lookup.
 */
function classifyRouteOf(route: ResolvedRoute): ClassifyRoute {
  let known = classifyRoutes.get(route);
  if (known === undefined) {
    known = Object.freeze({
      name: route.name,
      endpointName: route.endpointName,
      url: maskUrlSecrets(route.url),
      apiKeySource: route.apiKeySource,
    });
    classifyRoutes.set(route, known);
  }
  return known;
}

function credentialOf(route: ResolvedRoute): string | undefined {
  const auth = route.provider.auth;
  if (auth.type === 'none' || route.apiKey === undefined) return undefined;
  return auth.credential
    ? auth.credential(route.apiKey, Date.now(), { providerOptions: route.providerOptions })
    : route.apiKey;
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

function serializeRequest(context: RequestContext): string {
  try {
    return JSON.stringify(buildChatRequestBody(context.request, context.route));
  } catch (error) {
    const route = context.route;
    throw new SluiceError({
      kind: 'bad-request',
      retryable: false,
      phase: 'config',
      message: `The request on route "${route.name}" cannot be sent as JSON: ${(error as Error).message}.`,
      hint: 'Pass plain JSON values in the request: no circular references, BigInt, or class instances with cycles.',
      route: route.name,
      providerId: route.provider.id,
      cause: error,
    });
  }
}

/** A 2xx answer that cannot be a chat completion: the endpoint points at something else. */
function notAnAnswerError(context: RequestContext, status: number, what: string): SluiceError {
  const route = context.route;
  return new SluiceError({
    kind: 'provider',
    retryable: false,
    phase: 'headers',
    message: `Route "${route.name}" (provider ${route.provider.id}) answered HTTP ${status} with ${what}, not a chat completion.`,
    hint: `Check the endpoint of provider instance "${route.instance}" (it should end at the API's base, e.g. .../v1); a proxy's login or error page also answers this way.`,
    route: route.name,
    providerId: route.provider.id,
    status,
  });
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

  const input: ClassifyInput = {
    status: response.status,
    headers: response.headers,
    body,
    bodyText,
    route: classifyRouteOf(route),
  };
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
