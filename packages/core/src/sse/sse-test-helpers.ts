// Helpers shared by the sse tests; not exported from the package.
import type { ChatEvent } from '../events/chat-events.js';

const encoder = new TextEncoder();

/** A fetch-like body that delivers `chunks` one by one (strings are UTF-8 encoded). */
export function bodyOf(chunks: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  const queue = chunks.map((chunk) => (typeof chunk === 'string' ? encoder.encode(chunk) : chunk));
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  });
}

/** `bytes` cut into pieces of the given sizes, the last piece taking what is left. */
export function cutBytes(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let offset = 0;
  for (const size of sizes) {
    if (offset >= bytes.length) break;
    pieces.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  if (offset < bytes.length) pieces.push(bytes.subarray(offset));
  return pieces;
}

/** `bytes` one byte per chunk. */
export function byteByByte(bytes: Uint8Array): Uint8Array[] {
  return cutBytes(bytes, new Array<number>(bytes.length).fill(1));
}

/** `bytes` cut at pseudo-random sizes in [1, maxSize], reproducible from `seed`. */
export function randomCuts(bytes: Uint8Array, seed: number, maxSize: number): Uint8Array[] {
  let state = seed >>> 0 || 1;
  const sizes: number[] = [];
  let total = 0;
  while (total < bytes.length) {
    // xorshift32: enough spread for chunk sizes, and the same cuts on every run.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const size = 1 + ((state >>> 0) % maxSize);
    sizes.push(size);
    total += size;
  }
  return cutBytes(bytes, sizes);
}

/** Every event of `source`, and the error it ended with, if any. */
export async function drain(
  source: AsyncIterable<ChatEvent>,
): Promise<{ events: ChatEvent[]; error: unknown }> {
  const events: ChatEvent[] = [];
  try {
    for await (const event of source) events.push(event);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

/** The concatenated text deltas of `events`. */
export function textOf(events: ChatEvent[]): string {
  return events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('');
}

/** The events of one type. */
export function ofType<T extends ChatEvent['type']>(
  events: ChatEvent[],
  type: T,
): Array<Extract<ChatEvent, { type: T }>> {
  return events.filter((event): event is Extract<ChatEvent, { type: T }> => event.type === type);
}

/** `text` as UTF-8 bytes. */
export const utf8 = (text: string): Uint8Array => encoder.encode(text);
