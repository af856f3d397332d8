import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { defaultCodeForStatus, glmErrorBody } from './glm-error-body.js';
import type { ChatBody, Recording } from './recordings.js';
import { loadRecordings, selectRecording, unknownRecordingMessage } from './recordings.js';
import type { ResponseIdentity, ResponsePlan } from './response-plan.js';
import { planFromRecording, planGenerated, withFinishReason } from './response-plan.js';
import type { SimulatorFault } from './simulator-fault.js';
import { FAULT_HEADER, parseFaultHeader, validateFault } from './simulator-fault.js';
import type {
  ResolvedSimulatorOptions,
  SimulatorMode,
  SimulatorOptions,
} from './simulator-options.js';
import { checkCeiling, checkMode, resolveSimulatorOptions } from './simulator-options.js';
import type { SimulatorEvent, SimulatorEventBody } from './simulator-event.js';
import { COUNTER_OF_EVENT } from './simulator-event.js';
import type { SimulatorStats, StatsRecorder } from './simulator-stats.js';
import { createStatsRecorder } from './simulator-stats.js';

/** Base path of the GLM Coding Plan endpoint. */
export const CODING_BASE_PATH = '/api/coding/paas/v4';

/** Base path of the general Zhipu open-platform endpoint. */
export const GENERAL_BASE_PATH = '/api/paas/v4';

/** Base path for generic OpenAI clients. */
export const OPENAI_BASE_PATH = '/v1';

const CHAT_PATHS = new Set(
  [CODING_BASE_PATH, GENERAL_BASE_PATH, OPENAI_BASE_PATH].map((base) => `${base}/chat/completions`),
);

/** Request header naming a recording to serve to this one request. */
export const RECORDING_HEADER = 'x-sim-recording';

/** Largest chat request body the simulator reads, in bytes (8 MiB); larger ones get 413. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Thrown by `readBody` when a body without a declared length grows past the limit. */
class BodyTooLargeError extends Error {}

// A TCP reset makes the peer drop received bytes it has not read yet. Waiting this long after the
// last event was flushed lets a reading client see the events before the reset, as a client of
// the real API sees the output that arrived before a drop.
const RESET_GRACE_MS = 50;

/** A simulator's settings as shown to people: no key, no fault function. */
export type SimulatorSettings = Omit<ResolvedSimulatorOptions, 'apiKey' | 'fault' | 'onEvent'> & {
  /** True when requests must carry the configured API key. */
  checksApiKey: boolean;
  /** True when a `fault` option is set. */
  hasFault: boolean;
};

/** A running simulator. */
export interface Simulator {
  /** Origin, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;

  /** Coding Plan base URL for OpenAI-compatible clients, e.g. `http://127.0.0.1:40123/api/coding/paas/v4`. */
  readonly baseURL: string;

  /** The bound port. */
  readonly port: number;

  /** A copy of what the server measured so far. */
  stats(): SimulatorStats;

  /** Zeroes the counters and timeline; peaks restart from the current load. */
  resetStats(): void;

  /**
   * Changes the ceiling for requests that arrive from now on. Stalled requests stay stalled.
   *
   * @throws Error unless `ceiling` is a positive integer.
   */
  setCeiling(ceiling: number): void;

  /**
   * Changes the mode for requests that arrive from now on (in `slow`, open streams re-pace too).
   *
   * @throws Error unless `mode` is `stall`, `reject` or `slow`.
   */
  setMode(mode: SimulatorMode): void;

  /** The current settings (defaults filled in), for display; the API key itself is left out. */
  settings(): SimulatorSettings;

  /**
   * Ends every open response (sockets are destroyed), clears every timer and closes the server.
   * Safe to call more than once.
   */
  close(): Promise<void>;
}

/**
 * Starts a loopback HTTP server that speaks the Zhipu GLM chat completions wire and behaves like
 * the real API under load: it serves at most `ceiling` requests at once and treats the rest per
 * `mode`. Routes: `POST /api/coding/paas/v4/chat/completions`, `POST /api/paas/v4/chat/completions`
 * and `POST /v1/chat/completions`.
 *
 * @example
 * ```ts
 * const sim = await startSimulator({ ceiling: 3, mode: 'stall', stallMs: 2_000 });
 * const client = new OpenAI({ baseURL: sim.baseURL, apiKey: 'unused' });
 * // ... run the fleet, then:
 * expect(sim.stats().peakInFlight).toBeLessThanOrEqual(3);
 * await sim.close();
 * ```
 *
 * @throws Error naming the option when an option is invalid, or the address when it cannot bind.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const settings = resolveSimulatorOptions(options);
  const recordings =
    settings.source === 'recorded' ? loadRecordings(settings.recordingsDir) : new Map();
  if (settings.recording !== undefined && !recordings.has(settings.recording)) {
    throw new Error(`startSimulator: ${unknownRecordingMessage(settings.recording, recordings)}`);
  }
  const stats = createStatsRecorder(settings.timelineLimit);
  const open = new Set<Exchange>();
  const { onEvent } = settings;
  const context: ServerContext = {
    settings,
    recordings,
    stats,
    open,
    nextIndex: 0,
    // A throwing listener must not break the simulated traffic; its error is dropped.
    emit(event) {
      if (onEvent === undefined) return;
      try {
        onEvent(event);
      } catch {
        // ignored on purpose, see above
      }
    },
  };

  const server = createServer((req, res) => {
    handleRequest(context, req, res);
  });
  // A client that sends `Expect: 100-continue` waits before sending the body: a body declared too
  // large gets its 413 instead of the 100, so it is never sent. Without this listener Node would
  // answer 100 to every request.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!(isChatPath(req) && declaresTooLargeBody(req))) res.writeContinue();
    handleRequest(context, req, res);
  });
  await listen(server, settings.host, settings.port);

  const port = (server.address() as AddressInfo).port;
  const hostInUrl = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const url = `http://${hostInUrl}:${port}`;
  let closing: Promise<void> | undefined;

  return {
    url,
    baseURL: `${url}${CODING_BASE_PATH}`,
    port,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    setCeiling(ceiling) {
      checkCeiling(ceiling);
      settings.ceiling = ceiling;
    },
    setMode(mode) {
      checkMode(mode);
      settings.mode = mode;
    },
    settings() {
      const { apiKey, fault, onEvent: _onEvent, ...shown } = settings;
      return { ...shown, checksApiKey: apiKey !== undefined, hasFault: fault !== undefined };
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const exchange of [...open]) exchange.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const failure = new Error(
        `startSimulator: cannot listen on ${host}:${port} (${error.code ?? error.message}); ` +
          'pick another port or use port 0 for a free one',
        { cause: error },
      );
      // The code of the listen error (EADDRINUSE, EACCES), for callers that name the flag to change.
      reject(Object.assign(failure, { code: error.code }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

interface ServerContext {
  emit(event: SimulatorEvent): void;
  settings: ResolvedSimulatorOptions;
  recordings: Map<string, Recording>;
  stats: StatsRecorder;
  open: Set<Exchange>;
  nextIndex: number;
}

function requestPath(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

function isChatPath(req: IncomingMessage): boolean {
  return req.method === 'POST' && CHAT_PATHS.has(requestPath(req));
}

/** True when the request's `Content-Length` is over {@link MAX_BODY_BYTES}. */
function declaresTooLargeBody(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) > MAX_BODY_BYTES;
}

function handleRequest(context: ServerContext, req: IncomingMessage, res: ServerResponse): void {
  const path = requestPath(req);
  if (!CHAT_PATHS.has(path)) {
    sendJson(
      res,
      404,
      glmErrorBody('1222', `no route ${path}; POST ${CODING_BASE_PATH}/chat/completions`),
    );
    return;
  }
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    sendJson(res, 405, glmErrorBody('1210', `${req.method ?? ''} ${path}: use POST`));
    return;
  }

  const exchange = new Exchange(context, req, res, path);
  exchange.start();
}

/**
 * One chat request from arrival to the end of its response. It holds the request's place in the
 * counters and owns every timer it starts; `finish` releases both exactly once, whichever way the
 * response ends (served, rejected, reset, client gone, or server closing).
 */
class Exchange {
  private phase: 'reading' | 'stalled' | 'serving' | 'done' = 'reading';
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly index: number;
  private readonly startedAt = performance.now();
  private model = '';

  constructor(
    private readonly context: ServerContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly path: string,
  ) {
    this.index = context.nextIndex++;
  }

  start(): void {
    const { stats, open } = this.context;
    open.add(this);
    this.record({ type: 'request', path: this.path });
    stats.shift('inFlight', 1);

    // `close` fires after a normal end too; only an unfinished response counts as aborted.
    this.res.on('close', () => {
      if (!this.isDone()) {
        this.record({ type: 'aborted' });
        this.finish();
      }
    });

    if (declaresTooLargeBody(this.req)) {
      this.rejectTooLarge(`Content-Length: ${this.req.headers['content-length']}`);
      return;
    }
    readBody(this.req)
      .then((raw) => this.onBody(raw))
      .catch((error: unknown) => {
        if (error instanceof BodyTooLargeError) this.rejectTooLarge(error.message);
        else this.fail(error);
      });
  }

  /**
   * Answers 413 (code 1214, like the other bad bodies, counted as `failed`) and closes the
   * connection once the answer is written, so the rest of the upload is never read.
   */
  private rejectTooLarge(what: string): void {
    if (this.isDone()) return;
    this.res.setHeader('connection', 'close');
    this.answerError(
      413,
      '1214',
      `request body too large (${what}); the simulator reads at most ${MAX_BODY_BYTES} bytes ` +
        '(8 MiB): send a smaller body (fewer or shorter messages)',
    );
  }

  /** Ends the exchange for `close()`: no more bytes, socket destroyed. */
  destroy(): void {
    this.finish();
    this.res.destroy();
  }

  private onBody(raw: string): void {
    if (this.isDone()) return;
    const { settings } = this.context;

    const body = parseChatBody(raw);
    if (typeof body === 'string') {
      this.answerError(400, '1214', body);
      return;
    }

    this.model = body.model as string;
    const authCode = checkAuthorization(settings.apiKey, this.req.headers.authorization);
    if (authCode !== undefined) {
      this.answerError(401, authCode);
      return;
    }

    let fault: SimulatorFault;
    let plan: ResponsePlan;
    try {
      fault = this.faultFor(body);
      plan = this.planFor(body);
    } catch (error) {
      this.answerError(400, '1210', (error as Error).message);
      return;
    }

    if (fault.status !== undefined) {
      const code = fault.code ?? defaultCodeForStatus(fault.status);
      this.answerError(fault.status, code, undefined, fault.retryAfterSeconds);
      return;
    }

    this.admit(plan, fault);
  }

  private faultFor(body: ChatBody): SimulatorFault {
    const { fault } = this.context.settings;
    const fromOptions =
      typeof fault === 'function'
        ? fault({
            index: this.index,
            path: this.path,
            headers: this.req.headers,
            body: body as Record<string, unknown>,
          })
        : fault;
    if (typeof fault === 'function' && fromOptions !== undefined) {
      validateFault(fromOptions, `fault(request ${this.index})`);
    }
    const header = this.req.headers[FAULT_HEADER];
    const fromHeader = typeof header === 'string' ? parseFaultHeader(header) : {};
    return { ...fromOptions, ...fromHeader };
  }

  private planFor(body: ChatBody): ResponsePlan {
    const { settings, recordings } = this.context;
    const identity: ResponseIdentity = {
      id: newResponseId(),
      created: Math.floor(Date.now() / 1000),
      model: body.model as string,
    };
    if (settings.source === 'generate') {
      return planGenerated(body, identity, {
        outputTokens: settings.outputTokens,
        reasoningTokens: settings.reasoningTokens,
        seed: this.index,
      });
    }
    const header = this.req.headers[RECORDING_HEADER];
    const forced = typeof header === 'string' ? header : settings.recording;
    return planFromRecording(selectRecording(recordings, body, forced), identity);
  }

  /**
   * The ceiling is enforced here and only here. A stalled request never takes a slot later: the
   * provider does not resume a request it stalled, and a simulator that did would hide exactly the
   * failure clients must avoid.
   */
  private admit(plan: ResponsePlan, fault: SimulatorFault): void {
    const { settings, stats } = this.context;
    const overCeiling = stats.streaming >= settings.ceiling;

    if (overCeiling && settings.mode === 'reject') {
      this.rejectForCeiling('ceiling');
      return;
    }
    if (overCeiling && settings.mode === 'stall') {
      this.stall();
      return;
    }

    this.phase = 'serving';
    stats.shift('streaming', 1);
    this.record({
      type: 'served',
      model: this.model,
      stream: plan.streaming,
      load: stats.streaming,
    });
    const final =
      fault.finishReason === undefined ? plan : withFinishReason(plan, fault.finishReason);
    void this.serve(final, fault).catch((error: unknown) => this.fail(error));
  }

  private stall(): void {
    const { settings, stats } = this.context;
    this.phase = 'stalled';
    this.record({ type: 'stalled', load: stats.streaming });
    stats.shift('stalling', 1);

    this.later(settings.stallMs, () => {
      if (settings.stallEnd === 'reset') {
        this.reset('stall');
        return;
      }
      this.rejectForCeiling('stall');
    });
  }

  private async serve(plan: ResponsePlan, fault: SimulatorFault): Promise<void> {
    const { settings } = this.context;
    await this.sleep(fault.headersDelayMs ?? 0);
    if (this.isDone()) return;
    if (plan.streaming) {
      this.res.writeHead(200, {
        'content-type': 'text/event-stream;charset=UTF-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      this.res.flushHeaders();
    }

    await this.sleep(fault.thinkingPauseMs ?? settings.thinkingPauseMs);
    await this.sendSteps(plan, fault);
  }

  /**
   * Sends the plan's steps at the paced rate, then `[DONE]` or the JSON body, unless a reset or
   * truncation fault ends the body first.
   */
  private async sendSteps(plan: ResponsePlan, fault: SimulatorFault): Promise<void> {
    // A fault count at or past the end still fires: a reset right before the end of the body, a
    // truncation inside the last event.
    const resetAt =
      fault.resetAfterChunks === undefined ? -1 : Math.min(fault.resetAfterChunks, plan.steps);
    const truncateAt =
      fault.truncateAfterChunks === undefined
        ? -1
        : Math.min(fault.truncateAfterChunks, plan.steps - 1);

    // Events that are due together go out in one write, as a real stream delivers a backlog in
    // one read; unpaced streams are one write. This keeps the simulator's own cost far below the
    // client's (see bench/simulator.bench.ts).
    const nextWaitMs = this.createPacer();
    let pending = '';
    for (let step = 0; ; step += 1) {
      if (this.isDone()) return;
      if (step === resetAt) {
        await this.writeFlushed(pending);
        await this.sleep(RESET_GRACE_MS);
        if (!this.isDone()) this.reset('fault');
        return;
      }
      if (step === truncateAt) {
        this.truncate(plan, step, pending);
        return;
      }
      if (step === plan.steps) break;

      const waitMs = nextWaitMs();
      if (waitMs >= 1) {
        await this.write(pending);
        pending = '';
        await this.sleep(waitMs);
        if (this.isDone()) return;
      }
      if (plan.streaming) pending += `data: ${JSON.stringify(plan.events[step])}\n\n`;
    }

    this.record({ type: 'completed', durationMs: performance.now() - this.startedAt });
    if (!plan.streaming) {
      this.res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    }
    this.finish();
    this.res.end(plan.streaming ? `${pending}data: [DONE]\n\n` : JSON.stringify(plan.document));
  }

  /**
   * Returns a function giving the wait before the next step, in ms. Due times accumulate from the
   * start instead of sleeping a fixed interval per step, so timer lateness does not slow the
   * stream down; in `slow` mode each step's length is stretched by the load over the ceiling at
   * the moment it is scheduled.
   */
  private createPacer(): () => number {
    const { settings, stats } = this.context;
    let dueAt = performance.now();
    return () => {
      if (settings.tokensPerSecond === Infinity) return 0;
      const over = settings.mode === 'slow' ? stats.streaming / settings.ceiling : 1;
      dueAt += (1000 / settings.tokensPerSecond) * Math.max(1, over);
      return dueAt - performance.now();
    };
  }

  /** Ends the body inside a JSON value: half an event, no blank line, no `[DONE]`. */
  private truncate(plan: ResponsePlan, step: number, pending: string): void {
    const whole = plan.streaming
      ? `data: ${JSON.stringify(plan.events[step])}`
      : JSON.stringify(plan.document);
    const cut = cutInsideValue(whole);
    if (!plan.streaming) {
      this.res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    }
    this.finish();
    this.res.end(`${pending}${cut}`);
  }

  private reset(after: 'fault' | 'stall'): void {
    this.record({ type: 'reset', after });
    this.finish();
    // A TCP RST rather than a FIN: the client sees ECONNRESET, as with a provider-side drop.
    this.req.socket.resetAndDestroy();
  }

  /** Answers an error that is not the ceiling's, which counts as `failed`. */
  private answerError(status: number, code: string, detail?: string, retryAfterSeconds?: number) {
    if (this.isDone()) return;
    this.record({ type: 'failed', status, code });
    this.sendError(status, code, detail, retryAfterSeconds);
  }

  /** The ceiling's answer: 429 with code 1302, counted as `rejected`. */
  private rejectForCeiling(after: 'ceiling' | 'stall'): void {
    this.record({ type: 'rejected', after });
    this.sendError(429, '1302');
  }

  private sendError(status: number, code: string, detail?: string, retryAfterSeconds?: number) {
    this.finish();
    if (retryAfterSeconds !== undefined) {
      this.res.setHeader('retry-after', String(retryAfterSeconds));
    }
    sendJson(this.res, status, glmErrorBody(code, detail));
  }

  private fail(error: unknown): void {
    if (this.isDone()) return;
    if (!this.res.headersSent) {
      this.answerError(500, '500', error instanceof Error ? error.message : String(error));
      return;
    }
    this.finish();
    this.res.destroy();
  }

  /** Counts the event in `stats()` and hands it to the `onEvent` listener. */
  private record(event: SimulatorEventBody): void {
    const counter = COUNTER_OF_EVENT[event.type];
    if (counter !== undefined) this.context.stats.count(counter);
    this.context.emit({ ...event, index: this.index, atMs: this.context.stats.elapsedMs() });
  }

  // A method rather than a field test, because the phase changes across awaits and TypeScript
  // would otherwise narrow it as if it could not.
  private isDone(): boolean {
    return this.phase === 'done';
  }

  /** Releases the request's counters and timers; idempotent. */
  private finish(): void {
    if (this.phase === 'done') return;
    const { stats, open } = this.context;
    if (this.phase === 'serving') stats.shift('streaming', -1);
    if (this.phase === 'stalled') stats.shift('stalling', -1);
    this.phase = 'done';
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    open.delete(this);
    stats.shift('inFlight', -1);
  }

  private later(delayMs: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, delayMs);
    this.timers.add(timer);
  }

  // Resolves after `delayMs`; if the exchange ends first the promise never resolves, and the
  // awaiting step is dropped with the exchange (the timer is cleared, nothing stays referenced).
  private sleep(delayMs: number): Promise<void> {
    if (delayMs <= 0) return Promise.resolve();
    return new Promise((resolve) => this.later(delayMs, resolve));
  }

  /** Writes `chunk` and resolves once it has been handed to the operating system. */
  private writeFlushed(chunk: string): Promise<void> {
    if (chunk === '') return Promise.resolve();
    return new Promise((resolve) => this.res.write(chunk, () => resolve()));
  }

  private write(chunk: string): Promise<void> {
    if (chunk === '' || this.res.write(chunk)) return Promise.resolve();
    return new Promise((resolve) => this.res.once('drain', resolve));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (part: Buffer) => {
      size += part.length;
      if (size > MAX_BODY_BYTES) {
        // Stop reading; the 413 answer closes the connection, dropping the rest of the upload.
        req.off('data', onData);
        req.pause();
        parts.length = 0;
        reject(new BodyTooLargeError(`over ${MAX_BODY_BYTES} bytes sent without a Content-Length`));
        return;
      }
      parts.push(part);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** Returns the body, or a message naming what is wrong with it. */
function parseChatBody(raw: string): ChatBody | string {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return 'request body is not valid JSON';
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return 'request body must be a JSON object';
  }
  const chat = body as ChatBody;
  if (typeof chat.model !== 'string' || chat.model === '') {
    return 'model must be a non-empty string such as "glm-4.6"';
  }
  if (!Array.isArray(chat.messages) || chat.messages.length === 0) {
    return 'messages must be a non-empty array';
  }
  return chat;
}

/** Returns the GLM auth error code for a request, or undefined when it may pass. */
function checkAuthorization(apiKey: string | undefined, header: string | undefined) {
  if (apiKey === undefined) return undefined;
  if (header === undefined || header === '') return '1001';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (match === null) return '1002';
  return match[1] === apiKey ? undefined : '1000';
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

// Real ids are a timestamp followed by random hex, e.g. 20251023225951823569fea7794962.
function newResponseId(): string {
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  return `${stamp}${randomBytes(8).toString('hex')}`;
}

/** Cuts a serialized event inside its last string value (after its first character if it has one). */
function cutInsideValue(text: string): string {
  let cutAt = -1;
  for (const match of text.matchAll(/:"[^"]/g)) cutAt = match.index + 3;
  if (cutAt === -1) return text.slice(0, Math.max(1, Math.floor(text.length / 2)));
  return text.slice(0, cutAt);
}
