import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../events/chat-events.js';
import {
  EVENT_BATCHES,
  batchedEvents,
  eventBatchesOf,
  type EventBatches,
} from './event-batches.js';

const text = (value: string): ChatEvent => ({ type: 'text-delta', text: value });

/** Batches from a list, recording how often `next` and `return` were called. */
function listBatches(batches: ChatEvent[][], failWith?: Error) {
  const calls = { next: 0, returned: 0 };
  let index = 0;
  const source: EventBatches = {
    next() {
      calls.next += 1;
      if (index < batches.length) return Promise.resolve([...batches[index++]!]);
      return failWith ? Promise.reject(failWith) : Promise.resolve(undefined);
    },
    return() {
      calls.returned += 1;
    },
  };
  return { source, calls };
}

async function collect(events: AsyncIterable<ChatEvent>): Promise<string[]> {
  const out: string[] = [];
  for await (const event of events) out.push(event.type === 'text-delta' ? event.text : event.type);
  return out;
}

describe('batchedEvents', () => {
  it('hands out the events of every batch in order, one read per batch', async () => {
    const { source, calls } = listBatches([[text('a'), text('b')], [text('c')]]);
    expect(await collect(batchedEvents(source))).toEqual(['a', 'b', 'c']);
    // Two batches and the end: three reads for three events.
    expect(calls.next).toBe(3);
    expect(calls.returned).toBe(0);
  });

  it('gives the next layer the rest of a batch it started, then the later batches', async () => {
    const { source } = listBatches([[text('a'), text('b'), text('c')], [text('d')]]);
    const events = batchedEvents(source);
    expect(await events.next()).toEqual({ done: false, value: text('a') });
    const batches = events[EVENT_BATCHES]();
    expect(await batches.next()).toEqual([text('b'), text('c')]);
    expect(await batches.next()).toEqual([text('d')]);
    expect(await batches.next()).toBeUndefined();
  });

  it('return() ends the source once and later reads end', async () => {
    const { source, calls } = listBatches([[text('a'), text('b')], [text('c')]]);
    const events = batchedEvents(source);
    for await (const event of events) {
      expect(event).toEqual(text('a'));
      break;
    }
    expect(calls.returned).toBe(1);
    await events.return();
    expect(calls.returned).toBe(1);
    expect(await events.next()).toEqual({ done: true, value: undefined });
  });

  it('a failing read rejects after the events before it, and the stream stays ended', async () => {
    const boom = new Error('socket reset');
    const { source } = listBatches([[text('a')]], boom);
    const events = batchedEvents(source);
    expect(await events.next()).toEqual({ done: false, value: text('a') });
    await expect(events.next()).rejects.toBe(boom);
    expect(await events.next()).toEqual({ done: true, value: undefined });
  });

  it('drops events in hand once interrupted, so the next read reports the end', async () => {
    let interrupted = false;
    const { source } = listBatches([[text('a'), text('b'), text('c')]]);
    const events = batchedEvents(source, () => interrupted);
    expect(await events.next()).toEqual({ done: false, value: text('a') });
    interrupted = true;
    expect(await events.next()).toEqual({ done: true, value: undefined });
  });

  it('calls made while a read is pending wait their turn, as with an async generator', async () => {
    const { source } = listBatches([[text('a')], [text('b')]]);
    const events = batchedEvents(source);
    const [first, second, third] = await Promise.all([events.next(), events.next(), events.next()]);
    expect([first, second, third]).toEqual([
      { done: false, value: text('a') },
      { done: false, value: text('b') },
      { done: true, value: undefined },
    ]);
  });
});

describe('eventBatchesOf', () => {
  it('reads events without batches of their own one event per batch', async () => {
    async function* plain() {
      yield text('x');
      yield text('y');
    }
    const batches = eventBatchesOf(plain());
    expect(await batches.next()).toEqual([text('x')]);
    expect(await batches.next()).toEqual([text('y')]);
    expect(await batches.next()).toBeUndefined();
  });

  it('stops a plain iterator with its return()', async () => {
    let finalized = false;
    async function* plain() {
      try {
        yield text('x');
        yield text('y');
      } finally {
        finalized = true;
      }
    }
    const batches = eventBatchesOf(plain());
    expect(await batches.next()).toEqual([text('x')]);
    batches.return();
    await new Promise((resolve) => setImmediate(resolve));
    expect(finalized).toBe(true);
  });

  it('uses the batches an iterable offers', async () => {
    const { source } = listBatches([[text('a'), text('b')]]);
    const batches = eventBatchesOf(batchedEvents(source));
    expect(await batches.next()).toEqual([text('a'), text('b')]);
  });
});
