import type { Budget } from '../budget/types.js';
import type { SessionRef } from '../pipeline/types.js';
import { wrapResponseBody } from '../pipeline/wrap-response-body.js';
import type { Transport } from '../transport/create-transport.js';

/** What {@link createRouterFetch} needs of one provider instance. */
export interface RouterFetchTarget {
  budget: Budget;
  transport: Transport;
  /** Longest wait for a lease, in ms; 0 = none. */
  queueMs: number;
  session?: SessionRef | undefined;
  priority?: number | undefined;
}

/**
 * A standard `fetch` for third-party SDKs (openai, the Vercel AI SDK) that holds one lease of the
 * instance's budget per request, from send until the response body has been read to its end,
 * failed or been cancelled, so SDK traffic shares the budget with `router.chat()`.
 *
 * The lease is released exactly once: by the body wrapper (`wrapResponseBody`), when `fetch`
 * itself rejects, or when the request's signal aborts while the body is unread. Sluice's deadlines
 * and retries do not apply here: the SDK runs its own.
 */
export function createRouterFetch(target: RouterFetchTarget): typeof fetch {
  return async function routerFetch(input, init) {
    const signal =
      init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
    const lease = await target.budget.acquire({
      ...(signal ? { signal } : {}),
      priority: target.priority ?? target.session?.priority ?? 0,
      ...(target.session ? { session: target.session.id } : {}),
      timeoutMs: target.queueMs,
    });

    const onAbort = () => release();
    const release = () => {
      signal?.removeEventListener('abort', onAbort);
      lease.release();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    let response: Response;
    try {
      response = await target.transport.fetch(input, init);
    } catch (error) {
      release();
      throw error;
    }
    return wrapResponseBody(response, release);
  } as typeof fetch;
}
