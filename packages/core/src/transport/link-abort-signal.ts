import { listenToSignal } from '../pipeline/abort-scope.js';

/**
 * Aborts `controller` when `source` aborts, with the same reason, and returns the function that
 * undoes the link. Always call it when the request ends: a long-lived signal shared by many
 * requests (one per agent session) must not collect one listener per request. Preferred over
 * `AbortSignal.any`, whose dependants stay attached to the source until it is collected.
 */
export function linkAbortSignal(
  source: AbortSignal | undefined,
  controller: AbortController,
): () => void {
  if (!source) return noop;
  return listenToSignal(source, (reason) => controller.abort(reason));
}

function noop(): void {}
