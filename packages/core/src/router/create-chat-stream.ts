import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent, ChatResult } from '../events/chat-events.js';
import type { ModelResponse } from '../pipeline/types.js';
import { linkAbortSignal } from '../transport/link-abort-signal.js';
import type { ChatStream } from './types.js';

/** Options of {@link createChatStream}. */
export interface ChatStreamOptions {
  /** Runs the pipeline; called once, on first use, with the stream's own signal. */
  open(signal: AbortSignal): Promise<ModelResponse>;
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
  readonly #controller = new AbortController();
  #iterated = false;
  #result: Promise<ChatResult> | undefined;

  constructor(options: ChatStreamOptions) {
    this.#options = options;
  }

  [Symbol.asyncIterator](): AsyncIterator<ChatEvent> {
    if (this.#iterated) {
      throw new TypeError(
        this.#result
          ? 'This ChatStream was already consumed by text()/result(); await those again instead of iterating.'
          : 'A ChatStream can be iterated once; keep the events you need from the first loop.',
      );
    }
    this.#iterated = true;
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
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(reason ?? this.#abortedError(undefined, 'cancelled'));
  }

  #run(): AsyncIterator<ChatEvent> {
    return new ChatStreamIterator(this.#options, this.#controller, (reason) =>
      this.#abortedError(reason, 'aborted'),
    );
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

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * One iteration of a ChatStream: opens the pipeline on the first `next()`, then passes events
 * through with one `.then` each. An abort cancels the response, which ends the pending read at
 * once all the way down to the body; the outcome is then replaced by the `aborted` error.
 */
class ChatStreamIterator implements AsyncIterator<ChatEvent> {
  readonly #options: ChatStreamOptions;
  readonly #signal: AbortSignal;
  readonly #aborted: (reason: unknown) => SluiceError;
  readonly #unlink: () => void;
  #response: ModelResponse | undefined;
  #source: AsyncIterator<ChatEvent> | undefined;
  #opening: Promise<IteratorResult<ChatEvent>> | undefined;
  #done = false;

  constructor(
    options: ChatStreamOptions,
    controller: AbortController,
    aborted: (reason: unknown) => SluiceError,
  ) {
    this.#options = options;
    this.#signal = controller.signal;
    this.#aborted = aborted;
    this.#unlink = linkAbortSignal(options.signal, controller);
    this.#signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  next(): Promise<IteratorResult<ChatEvent>> {
    if (this.#done) return Promise.resolve(DONE);
    if (this.#source) return this.#source.next().then(this.#onStep, this.#onError);
    this.#opening ??= this.#open();
    return this.#opening;
  }

  return(): Promise<IteratorResult<ChatEvent>> {
    if (!this.#done) {
      this.#finish(false, undefined);
      this.#source?.return?.(undefined)?.catch(ignore);
    }
    return Promise.resolve(DONE);
  }

  async #open(): Promise<IteratorResult<ChatEvent>> {
    try {
      if (this.#signal.aborted) throw this.#aborted(this.#signal.reason);
      const response = await this.#options.open(this.#signal);
      this.#response = response;
      if (this.#signal.aborted) throw this.#aborted(this.#signal.reason);
      this.#source = response.events[Symbol.asyncIterator]();
    } catch (error) {
      this.#onError(error);
    }
    return (this.#source as AsyncIterator<ChatEvent>).next().then(this.#onStep, this.#onError);
  }

  readonly #onStep = (step: IteratorResult<ChatEvent>): IteratorResult<ChatEvent> => {
    if (this.#signal.aborted) this.#onError(undefined);
    if (step.done) this.#finish(true, undefined);
    return step;
  };

  readonly #onError = (error: unknown): never => {
    const final = this.#signal.aborted ? this.#aborted(this.#signal.reason) : error;
    this.#finish(false, final);
    throw final;
  };

  readonly #onAbort = () => {
    this.#response?.cancel(this.#aborted(this.#signal.reason));
  };

  #finish(complete: boolean, reason: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#signal.removeEventListener('abort', this.#onAbort);
    this.#unlink();
    this.#options.onEnd?.();
    if (!complete) this.#response?.cancel(this.#signal.aborted ? this.#signal.reason : reason);
  }
}

function ignore(): void {}
