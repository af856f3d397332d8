/**
 * Wraps an async iterator so a pending `next()` can be rejected from outside at once (a deadline
 * fired, the caller aborted) without waiting for the source to notice. Each pull makes one
 * promise; nothing is chained onto a long-lived promise, so a stream of any length keeps a
 * constant footprint (a `Promise.race` against one shared promise would not).
 */
export class InterruptibleIterator<T> {
  readonly #iterator: AsyncIterator<T>;
  #reject: ((error: unknown) => void) | undefined;
  #interruption: { error: unknown } | undefined;

  constructor(source: AsyncIterable<T>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  /** The next step of the source, or a rejection with the interruption's error. */
  next(): Promise<IteratorResult<T>> {
    if (this.#interruption) return Promise.reject(this.#interruption.error);

    return new Promise((resolve, reject) => {
      this.#reject = reject;
      this.#iterator.next().then(
        (step) => {
          this.#reject = undefined;
          resolve(step);
        },
        (error: unknown) => {
          this.#reject = undefined;
          reject(error);
        },
      );
    });
  }

  /** Rejects the pending and every later `next()` with `error`. The first error wins. */
  interrupt(error: unknown): void {
    this.#interruption ??= { error };
    this.#reject?.(this.#interruption.error);
  }

  /** Tells the source to finish (runs its `finally`), without waiting for it. */
  close(): void {
    this.#iterator.return?.().catch(() => {});
  }
}
