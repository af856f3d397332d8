import { SluiceError } from '../errors/sluice-error.js';

/**
 * Returns a Response whose body calls `onEnd` exactly once, when the body has been read to its
 * end, when reading it fails, or when it is cancelled. A response without a body calls `onEnd` at
 * once. Status, status text, headers and url are kept.
 *
 * `router.fetch` uses this to hold a budget lease for a raw Response: the lease goes with the last
 * byte, not with the headers.
 *
 * Safety net: when the returned body stream is garbage-collected without having ended (a caller
 * dropped the response unread), the original body is cancelled and `onEnd` called, so a lease
 * cannot leak for good. GC may take arbitrarily long; read or cancel bodies instead.
 *
 * @example
 * ```ts
 * return wrapResponseBody(await fetch(url, init), () => lease.release());
 * ```
 */
export function wrapResponseBody(response: Response, onEnd: () => void): Response {
  let ended = false;
  const token = {};
  const end = () => {
    if (ended) return;
    ended = true;
    abandonedBodies.unregister(token);
    onEnd();
  };

  // No body to wait for. Statuses that may not carry one (204, 304, ...) cannot be rebuilt with
  // a stream body either, so they end here too.
  const body = response.body;
  if (body === null || NULL_BODY_STATUSES.has(response.status)) {
    end();
    return response;
  }

  const reader = body.getReader();
  // highWaterMark 0: nothing is read ahead of the consumer, so "fully read" means the consumer
  // has seen the last chunk, and a cancel reaches the socket without a buffered backlog.
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          end();
          controller.error(error);
          return;
        }
        if (chunk.done) {
          end();
          controller.close();
          return;
        }
        controller.enqueue(chunk.value);
      },
      async cancel(reason) {
        try {
          await reader.cancel(reason);
        } finally {
          end();
        }
      },
    },
    { highWaterMark: 0 },
  );

  // Registered on the stream, not the Response: a caller may keep only `response.body` or a
  // reader of it, and both keep the stream alive. The held callback reaches the original reader
  // and `end`, never the new stream.
  abandonedBodies.register(
    stream,
    (reason) => {
      reader.cancel(reason).catch(() => {});
      end();
    },
    token,
  );

  const wrapped = new Response(stream, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  // `url` is read-only on a constructed Response; keep the original's for callers that log it.
  if (response.url) Object.defineProperty(wrapped, 'url', { value: response.url });
  return wrapped;
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

const abandonedBodies = new FinalizationRegistry<(reason: unknown) => void>((abandon) => {
  abandon(
    new SluiceError({
      kind: 'aborted',
      phase: 'stream',
      message:
        'A response body was garbage-collected before it was read to the end or cancelled; it was cancelled and its lease released.',
      hint: 'Read the body to the end or call response.body.cancel().',
    }),
  );
});
