import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../errors/sluice-error.js';
import { wrapResponseBody } from './wrap-response-body.js';

const encoder = new TextEncoder();

/** A body the test feeds chunk by chunk; records a cancel and its reason. */
function controlledBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const cancelled: unknown[] = [];
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel(reason) {
      cancelled.push(reason);
    },
  });
  return { stream, controller: () => controller, cancelled };
}

describe('wrapResponseBody', () => {
  it('calls onEnd once when the body is read to its end, not at the headers', async () => {
    const body = controlledBody();
    let ended = 0;
    const response = wrapResponseBody(
      new Response(body.stream, { status: 201, headers: { 'x-test': 'yes' } }),
      () => ended++,
    );
    expect(response.status).toBe(201);
    expect(response.headers.get('x-test')).toBe('yes');
    expect(ended).toBe(0);

    const reader = response.body!.getReader();
    body.controller().enqueue(encoder.encode('data: a\n\n'));
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: a\n\n');
    expect(ended).toBe(0);
    body.controller().close();
    expect((await reader.read()).done).toBe(true);
    expect(ended).toBe(1);
  });

  it('text() of a wrapped response gives the whole body and ends once', async () => {
    let ended = 0;
    const response = wrapResponseBody(new Response('hello world'), () => ended++);
    expect(await response.text()).toBe('hello world');
    expect(ended).toBe(1);
  });

  it('calls onEnd once when reading fails, and the reader sees the error', async () => {
    const body = controlledBody();
    let ended = 0;
    const response = wrapResponseBody(new Response(body.stream), () => ended++);
    const reader = response.body!.getReader();
    const failure = new Error('socket reset');
    body.controller().enqueue(encoder.encode('x'));
    await reader.read();
    body.controller().error(failure);
    await expect(reader.read()).rejects.toBe(failure);
    expect(ended).toBe(1);
  });

  it('calls onEnd once on cancel and passes the reason to the original body', async () => {
    const body = controlledBody();
    let ended = 0;
    const response = wrapResponseBody(new Response(body.stream), () => ended++);
    const reader = response.body!.getReader();
    body.controller().enqueue(encoder.encode('x'));
    await reader.read();
    await reader.cancel('consumer left');
    expect(body.cancelled).toEqual(['consumer left']);
    expect(ended).toBe(1);
  });

  it('calls onEnd at once for a response without a body', () => {
    let ended = 0;
    const original = new Response(null, { status: 204 });
    const response = wrapResponseBody(original, () => ended++);
    expect(response).toBe(original);
    expect(ended).toBe(1);
  });

  it('keeps the url of the original response', () => {
    const original = new Response('x');
    Object.defineProperty(original, 'url', { value: 'https://api.example.test/v1/chat' });
    const response = wrapResponseBody(original, () => {});
    expect(response.url).toBe('https://api.example.test/v1/chat');
  });

  describe('garbage-collection safety net', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;

    async function collect(until: () => boolean): Promise<void> {
      for (let round = 0; round < 50 && !until(); round++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }

    it('a response dropped unread cancels the original body and ends once', async () => {
      const body = controlledBody();
      let ended = 0;
      (() => {
        void wrapResponseBody(new Response(body.stream), () => ended++);
      })();
      await collect(() => ended > 0);
      expect(ended).toBe(1);
      expect(body.cancelled).toHaveLength(1);
      const reason = body.cancelled[0] as SluiceError;
      expect(SluiceError.isInstance(reason) && reason.kind).toBe('aborted');
    });

    it('does not fire while a reader of the body is held', async () => {
      const body = controlledBody();
      let ended = 0;
      const reader = (() =>
        wrapResponseBody(new Response(body.stream), () => ended++).body!.getReader())();
      await collect(() => false);
      expect(ended).toBe(0);
      body.controller().enqueue(encoder.encode('late'));
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('late');
      body.controller().close();
      expect((await reader.read()).done).toBe(true);
      expect(ended).toBe(1);
    });
  });
});
