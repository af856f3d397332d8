import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent, ChatResult } from '../events/chat-events.js';
import {
  EVENT_BATCHES,
  batchedEvents,
  eventBatchesOf,
  type EventBatches,
} from '../pipeline/event-batches.js';
import { AbortScope } from '../pipeline/abort-scope.js';
import type { ModelResponse } from '../pipeline/types.js';
import type { ChatStream } from './types.js';

/** Options of {@link createChatStream}. */
export interface ChatStreamOptions {
  /**
   * Runs the pipeline; called once, on first use, with the stream's abort scope (its `signal`
   * is made on demand).
   */
  open(scope: AbortScope): Promise<ModelResponse>;
  /** Folds the events into a result (`collectChatResult`). */
  collect(events: AsyncIterable<ChatEvent>): Promise<ChatResult>;
  /** The caller's signal; linked for the stream's life only, then unlinked. */
  signal?: AbortSignal;
  /** Route name, for the `aborted` error's message. */
  route: string;
  /** Called once when a started stream has ended, however it ended. */
  onEnd?: () => void;
}

/**
 * A {@link ChatStream} over a pipeline. Nothing is sent until the stream is first iterated, or
 * `text()` / `result()` is called, so a stream that is created and dropped holds no lease.
 *
 * However it ends, the body is ended exactly once: at its end, when the consumer breaks out of
 * `for await`, on `cancel()`, and when the caller's signal aborts. An abort or `cancel()` rejects
 * a pending read at once with a SluiceError of kind `aborted` (or the abort reason itself, when
 * that is a SluiceError), without waiting for the transport to notice.
 */
export function createChatStream(options: ChatStreamOptions): ChatStream {
  return new RouterChatStream(options);
}

class RouterChatStream implements ChatStream {
  readonly #options: ChatStreamOptions;
  readonly #scope = new AbortScope();
  #iterated = false;
  #result: Promise<ChatResult> | undefined;
  #batches: ChatStreamBatches | undefined;

  constructor(options: ChatStreamOptions) {
    this.#options = options;
  }

  [Symbol.asyncIterator](): AsyncIterator<ChatEvent> {
    const batches = this.#run();
    return batchedEvents(batches, batches.interrupted);
  }

  /** The batched form of the same single iteration, for `collectChatResult`. */
  [EVENT_BATCHES](): EventBatches {
    return this.#run();
  }

  /** The answer's text. Calling it again, or after `result()`, returns the same answer. */
  async text(): Promise<string> {
    return (await this.result()).text;
  }

  /** The collected result; one request however often it is called. */
  result(): Promise<ChatResult> {
    this.#result ??= this.#options.collect(this);
    return this.#result;
  }

  cancel(reason?: unknown): void {
    if (this.#scope.aborted) return;
    const final = reason ?? this.#abortedError(undefined, 'cancelled');
    if (this.#batches) this.#batches.abort(final);
    else this.#scope.abort(final);
  }

  #run(): ChatStreamBatches {
    if (this.#iterated) {
      throw new TypeError(
        this.#result
          ? 'This ChatStream was already consumed by text()/result(); await those again instead of iterating.'
          : 'A ChatStream can be iterated once; keep the events you need from the first loop.',
      );
    }
    this.#iterated = true;
    this.#batches = new ChatStreamBatches(this.#options, this.#scope, (reason) =>
      this.#abortedError(reason, 'aborted'),
    );
    return this.#batches;
  }

  #abortedError(reason: unknown, how: 'aborted' | 'cancelled'): SluiceError {
    if (SluiceError.isInstance(reason)) return reason;
    return new SluiceError({
      kind: 'aborted',
      message: `The request on route "${this.#options.route}" was ${how} by the caller.`,
      route: this.#options.route,
      cause: reason,
    });
  }
}

/**
 * One iteration of a ChatStream, in batches: opens the pipeline on the first `next()`, then
 * passes batches through with one `.then` each. An abort cancels the response, which ends the
 * pending read at once all the way down to the body; the outcome is then replaced by the
 * `aborted` error, and events already in hand are not handed out.
 */
class ChatStreamBatches implements EventBatches {
  readonly #options: ChatStreamOptions;
  readonly #scope: AbortScope;
  readonly #aborted: (reason: unknown) => SluiceError;
  #unlink: (() => void) | undefined;
  #response: ModelResponse | undefined;
  #source: EventBatches | undefined;
  #opening: Promise<ChatEvent[] | undefined> | undefined;
  #done = false;

  constructor(
    options: ChatStreamOptions,
    scope: AbortScope,
    aborted: (reason: unknown) => SluiceError,
  ) {
    this.#options = options;
    this.#scope = scope;
    this.#aborted = aborted;
    // The caller's signal is linked straight to abort(): no listener on the stream's own scope,
    // which only the stream aborts (see RouterChatStream.cancel).
    const caller = options.signal;
    if (caller?.aborted) this.abort(caller.reason);
    else if (caller) this.#unlink = follow(caller, this);
  }

  /** Aborts the stream's scope (the pipeline's) and cancels the response in hand, if any. */
  abort(reason: unknown): void {
    this.#scope.abort(reason);
    if (this.#done) return;
    this.#response?.cancel(this.#aborted(this.#scope.reason));
  }

  /** True once the stream was aborted: events in hand are dropped, the next read fails. */
  readonly interrupted = (): boolean => this.#scope.aborted;

  next(): Promise<ChatEvent[] | undefined> {
    if (this.#done) return Promise.resolve(undefined);
    if (this.#source) return this.#source.next().then(this.#onBatch, this.#onError);
    this.#opening ??= this.#open();
    return this.#opening;
  }

  return(): void {
    if (this.#done) return;
    this.#finish(false, undefined);
    this.#source?.return();
  }

  async #open(): Promise<ChatEvent[] | undefined> {
    try {
      if (this.#scope.aborted) throw this.#aborted(this.#scope.reason);
      const response = await this.#options.open(this.#scope);
      this.#response = response;
      if (this.#scope.aborted) throw this.#aborted(this.#scope.reason);
      this.#source = eventBatchesOf(response.events);
    } catch (error) {
      this.#onError(error);
    }
    return (this.#source as EventBatches).next().then(this.#onBatch, this.#onError);
  }

  readonly #onBatch = (batch: ChatEvent[] | undefined): ChatEvent[] | undefined => {
    if (this.#scope.aborted) this.#onError(undefined);
    if (batch === undefined) this.#finish(true, undefined);
    return batch;
  };

  readonly #onError = (error: unknown): never => {
    const final = this.#scope.aborted ? this.#aborted(this.#scope.reason) : error;
    this.#finish(false, final);
    throw final;
  };

  #finish(complete: boolean, reason: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#unlink?.();
    this.#options.onEnd?.();
    if (!complete) this.#response?.cancel(this.#scope.aborted ? this.#scope.reason : reason);
  }
}

/**
 * The streams following one caller signal, behind ONE abort listener: agents share a signal
 * across many concurrent requests, and a listener per stream passes Node's limit of 10 and warns
 * of a leak. The listener goes when the signal's last stream ends.
 */
class SignalFollowers {
  readonly streams = new Set<ChatStreamBatches>();
  readonly #signal: AbortSignal;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  leave(stream: ChatStreamBatches): void {
    if (!this.streams.delete(stream) || this.streams.size > 0) return;
    following.delete(this.#signal);
    this.#signal.removeEventListener('abort', this.#onAbort);
  }

  readonly #onAbort = () => {
    following.delete(this.#signal);
    for (const stream of [...this.streams]) stream.abort(this.#signal.reason);
  };
}

const following = new WeakMap<AbortSignal, SignalFollowers>();

/** Aborts `stream` when `signal` aborts; returns the function that stops following it. */
function follow(signal: AbortSignal, stream: ChatStreamBatches): () => void {
  let followers = following.get(signal);
  if (followers === undefined) {
    followers = new SignalFollowers(signal);
    following.set(signal, followers);
  }
  followers.streams.add(stream);
  const joined = followers;
  return () => joined.leave(stream);
}
