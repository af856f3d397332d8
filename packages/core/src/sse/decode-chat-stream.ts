import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import { ChatChunkReader, type ChatChunkReaderOptions } from './chat-chunk-reader.js';
import { batchedEvents, type EventBatches } from '../pipeline/event-batches.js';
import { errorFromFrame } from './error-frame.js';
import { describeSource, statusOf } from './source-context.js';

/** A response body as `fetch` gives it, or any async source of byte chunks (Node streams). */
export type ChatStreamBody = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

/** Options of {@link decodeChatStream}. */
export interface DecodeChatStreamOptions extends ChatChunkReaderOptions {
  /**
   * Called with every SSE frame as parsed, before it is decoded into chat events (idle timers,
   * telemetry). Comment lines are not frames and do not reach it.
   */
  onEvent?: ((frame: EventSourceMessage) => void) | undefined;
  /**
   * Longest SSE line or event the decoder buffers, in characters. A body past it fails with a
   * `provider` error instead of growing memory without bound. Default 16 MiB.
   */
  maxEventChars?: number | undefined;
}

const DEFAULT_MAX_EVENT_CHARS = 16 * 1024 * 1024;

const STREAM_OPTIONS: TextDecodeOptions = { stream: true };

/**
 * Decodes an OpenAI-format SSE chat completion body into {@link ChatEvent}s: `text-delta`,
 * `reasoning-delta` (`reasoning_content` or `reasoning`), `tool-call-delta`, then every assembled
 * `tool-call` and exactly one `finish` with the normalized and the raw reason and the usage, if
 * any arrived (with the finish chunk or in a later `include_usage` chunk). It emits no `start`
 * event; the router does.
 *
 * Bytes are decoded with a streaming TextDecoder, so a character cut across chunks comes out
 * whole. A final event without its blank line is still read. One chunk that is not JSON becomes a
 * non-fatal `error` event carrying its raw text; the stream goes on. Reading stops at
 * `data: [DONE]`, and the rest of the body is cancelled, as it is when the consumer stops early.
 *
 * @throws SluiceError `truncated` (retryable, phase `stream`) when the body ends inside an event or
 *   JSON value, or ends with neither a finish reason nor `[DONE]`: a cut stream never looks like a
 *   clean finish.
 * @throws SluiceError from an `event: error` frame or a `{"error": ...}` chunk, classified by
 *   `options.classify` with status 200 (kind `provider` without a classifier), and from a finish
 *   reason that `options.mapFinishReason` maps to an error. Events before the failure are yielded
 *   first.
 * Errors from reading the body itself (socket reset) are rethrown unchanged for the transport to
 * normalize.
 */
export function decodeChatStream(
  body: ChatStreamBody,
  options: DecodeChatStreamOptions = {},
): AsyncGenerator<ChatEvent, void, undefined> {
  return batchedEvents(new DecodedBatches(new BodySource(body), new StreamDecoder(options)));
}

/**
 * The decoded body in batches, one per body chunk that produced events (see
 * {@link EventBatches}). The events of one chunk are decoded together and handed on together, so
 * a stream costs one promise hop per network read, not per event.
 */
class DecodedBatches implements EventBatches {
  private finished = false;

  constructor(
    private readonly source: BodySource,
    private readonly decoder: StreamDecoder,
  ) {}

  /** Reads body chunks until one yields events, the body ends or the decode fails. */
  async next(): Promise<ChatEvent[] | undefined> {
    if (this.finished) return undefined;
    const decoder = this.decoder;
    try {
      while (decoder.queue.length === 0 && !decoder.stopped) {
        const chunk = await this.source.next();
        if (this.finished) return undefined;
        if (chunk.done) {
          this.source.ended = true;
          decoder.end();
        } else decoder.feed(chunk.value);
      }
    } catch (error) {
      this.return();
      throw error;
    }

    // Release or cancel the body as soon as nothing more will be read from it, not only when
    // the consumer asks for the batch after `finish`.
    if (decoder.stopped) this.source.close();
    const batch = decoder.queue;
    if (batch.length > 0) {
      decoder.queue = [];
      return batch;
    }
    this.return();
    if (decoder.failure !== undefined) throw decoder.failure;
    return undefined;
  }

  return(): void {
    if (this.finished) return;
    this.finished = true;
    this.source.close();
  }
}

/**
 * The state of one decode: the SSE parser, the chunk reader, and the events of the current body
 * chunk waiting to be handed on. The parser's callback only pushes onto `queue`, so one callback
 * is bound per stream and nothing is allocated per chunk besides the events and their batch.
 */
class StreamDecoder {
  queue: ChatEvent[] = [];
  failure: SluiceError | Error | undefined;
  /** [DONE] seen, body ended, or failed: nothing more is read. */
  stopped = false;
  private sawDone = false;
  /** True while the parser is fed the end of body, so a dispatched event lacked its blank line. */
  private flushing = false;
  private readonly textDecoder = new TextDecoder();
  private readonly parser: EventSourceParser;
  private readonly reader: ChatChunkReader;
  private readonly onEvent: DecodeChatStreamOptions['onEvent'];

  constructor(private readonly options: DecodeChatStreamOptions) {
    this.reader = new ChatChunkReader(options);
    this.onEvent = options.onEvent;
    const maxEventChars = options.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
    this.parser = createParser({
      maxBufferSize: maxEventChars,
      onEvent: (frame) => this.onFrame(frame),
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') throw this.tooLong(maxEventChars);
        // A line that is no SSE field is skipped, as the spec says, except at the end of the
        // body, where it is the start of a line the connection cut off.
        if (this.flushing) throw this.truncated('inside an SSE line');
      },
    });
  }

  feed(chunk: Uint8Array | string): void {
    const text = typeof chunk === 'string' ? chunk : this.textDecoder.decode(chunk, STREAM_OPTIONS);
    if (text !== '') this.feedText(text);
  }

  /** The body ended: flush the pending event, then emit the finish or fail as truncated. */
  end(): void {
    this.flushing = true;
    // Two line feeds end whatever is pending: an unterminated line (also one ending in a lone
    // CR, which the parser holds back in case an LF follows) and the event it belongs to.
    this.feedText(`${this.textDecoder.decode()}\n\n`);
    this.stopped = true;
    if (this.failure !== undefined || this.sawDone) return;

    if (this.reader.finishReason === undefined) {
      this.fail(this.truncated('before any finish reason or [DONE]'));
      return;
    }
    this.reader.finish(this.queue);
  }

  private feedText(text: string): void {
    try {
      this.parser.feed(text);
    } catch (error) {
      this.fail(error);
    }
  }

  private onFrame(frame: EventSourceMessage): void {
    if (this.stopped) return;
    if (this.onEvent !== undefined) this.onEvent(frame);
    const data = frame.data;

    if (frame.event === 'error') throw errorFromFrame(parseOrUndefined(data), data, this.options);
    if (data === '[DONE]') {
      this.sawDone = true;
      this.stopped = true;
      const reader = this.reader;
      // Nothing but unreadable chunks before [DONE] is no answer, not an empty one.
      if (reader.skipped > 0 && !reader.sawOutput && reader.finishReason === undefined) {
        throw this.unreadable(reader.skipped, reader.firstSkipped!);
      }
      reader.finish(this.queue);
      return;
    }

    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      if (this.flushing) throw this.truncated('inside a JSON value');
      if (isBlank(data)) return;
      // Frames of other named types (`event: ping`) that are not JSON are not ours to report.
      if (frame.event === undefined || frame.event === 'message') {
        this.reader.skip(data, this.queue, 'it is not valid JSON');
      }
      return;
    }
    this.reader.read(chunk, data, this.queue);
  }

  private fail(error: unknown): void {
    this.stopped = true;
    if (this.failure !== undefined) return;
    this.failure = SluiceError.isInstance(error)
      ? error
      : error instanceof Error
        ? error
        : new Error(String(error));
  }

  private tooLong(maxEventChars: number): SluiceError {
    return new SluiceError({
      kind: 'provider',
      retryable: false,
      message: `${describeSource(this.options)} sent an SSE event longer than ${maxEventChars} characters.`,
      hint: 'Raise maxEventChars if the provider really sends events that large.',
      phase: 'stream',
      route: this.options.route,
      providerId: this.options.providerId,
      status: statusOf(this.options),
    });
  }

  private unreadable(skipped: number, why: string): SluiceError {
    return new SluiceError({
      kind: 'provider',
      retryable: false,
      message: `${describeSource(this.options)} sent ${skipped === 1 ? 'one chunk' : `${skipped} chunks`} and [DONE], and no chunk could be read as a chat completion (the first was skipped because ${why}).`,
      hint: 'Check that the endpoint speaks the OpenAI chat completions stream format.',
      phase: 'stream',
      route: this.options.route,
      providerId: this.options.providerId,
      status: statusOf(this.options),
    });
  }

  private truncated(where: string): SluiceError {
    return new SluiceError({
      kind: 'truncated',
      retryable: true,
      message: `${describeSource(this.options)} ended ${where}: the answer is incomplete.`,
      hint: 'The connection was cut; retrying the request may succeed.',
      phase: 'stream',
      route: this.options.route,
      providerId: this.options.providerId,
      status: statusOf(this.options),
    });
  }
}

/** Reads a ReadableStream or an async iterable chunk by chunk, and cancels what is left. */
class BodySource {
  private readonly streamReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private readonly iterator: AsyncIterator<Uint8Array | string> | undefined;
  /** Set by the reader when `next()` reported the end. */
  ended = false;
  private closed = false;

  constructor(body: ChatStreamBody) {
    if (isReadableStream(body)) this.streamReader = body.getReader();
    else this.iterator = body[Symbol.asyncIterator]();
  }

  next(): Promise<IteratorResult<Uint8Array | string, unknown>> {
    return this.streamReader
      ? this.streamReader.read()
      : (this.iterator as AsyncIterator<Uint8Array | string>).next();
  }

  /** Releases a finished body; cancels one that still has bytes (early stop, [DONE], failure). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.streamReader) {
      if (this.ended) this.streamReader.releaseLock();
      else this.streamReader.cancel().catch(ignore);
      return;
    }
    if (!this.ended) this.iterator?.return?.()?.catch(ignore);
  }
}

function isReadableStream(body: ChatStreamBody): body is ReadableStream<Uint8Array> {
  return typeof (body as ReadableStream<Uint8Array>).getReader === 'function';
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isBlank(text: string): boolean {
  return text.trim() === '';
}

function ignore(): void {}
