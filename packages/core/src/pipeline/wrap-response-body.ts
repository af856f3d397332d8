/**
 * Returns a Response whose body calls `onEnd` exactly once, when the body has been read to its
 * end, when reading it fails, or when it is cancelled. A response without a body calls `onEnd` at
 * once. Status, status text, headers and url are kept.
 *
 * `router.fetch` uses this to hold a budget lease for a raw Response: the lease goes with the last
 * byte, not with the headers.
 *
 * @example
 * ```ts
 * return wrapResponseBody(await fetch(url, init), () => lease.release());
 * ```
 */
export function wrapResponseBody(response: Response, onEnd: () => void): Response {
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
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
