import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent, ChatResult } from '../events/chat-events.js';
import type { ModelResponse } from '../pipeline/types.js';
import { linkAbortSignal } from '../transport/link-abort-signal.js';
import { InterruptibleIterator } from './interruptible-iterator.js';
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

  constructor(options: ChatStreamOptions) {
    this.#options = options;
  }

  [Symbol.asyncIterator](): AsyncIterator<ChatEvent> {
    if (this.#iterated) {
      throw new TypeError(
        'A ChatStream can be iterated once; keep the events you need, or call text()/result() instead.',
      );
    }
    this.#iterated = true;
    return this.#run();
  }

  async text(): Promise<string> {
    let text = '';
    for await (const event of this) if (event.type === 'text-delta') text += event.text;
    return text;
  }

  result(): Promise<ChatResult> {
    return this.#options.collect(this);
  }

  cancel(reason?: unknown): void {
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(reason ?? this.#abortedError(undefined, 'cancelled'));
  }

  async *#run(): AsyncGenerator<ChatEvent> {
    const signal = this.#controller.signal;
    const unlink = linkAbortSignal(this.#options.signal, this.#controller);
    let response: ModelResponse | undefined;
    let events: InterruptibleIterator<ChatEvent> | undefined;
    let finished = false;

    const onAbort = () => {
      const error = this.#abortedError(signal.reason, 'aborted');
      events?.interrupt(error);
      response?.cancel(error);
    };
    signal.addEventListener('abort', onAbort, { once: true });

    try {
      if (signal.aborted) throw this.#abortedError(signal.reason, 'aborted');
      response = await this.#options.open(signal);
      if (signal.aborted) throw this.#abortedError(signal.reason, 'aborted');

      events = new InterruptibleIterator(response.events);
      for (;;) {
        const step = await events.next();
        if (step.done) break;
        yield step.value;
      }
      finished = true;
    } catch (error) {
      throw signal.aborted ? this.#abortedError(signal.reason, 'aborted') : error;
    } finally {
      signal.removeEventListener('abort', onAbort);
      unlink();
      this.#options.onEnd?.();
      if (!finished) {
        response?.cancel(signal.aborted ? signal.reason : undefined);
        events?.close();
      }
    }
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
