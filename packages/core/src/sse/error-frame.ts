import type { Classification, ClassifyInput, ClassifyRoute } from '../descriptor/types.js';
import { SluiceError } from '../errors/sluice-error.js';
import { redactSecrets } from '../errors/redact.js';
import { describeSource, type SourceContext, statusOf } from './source-context.js';

/** What turns an error the provider sent inside a 200 response into a {@link SluiceError}. */
export interface ErrorFrameOptions extends SourceContext {
  /** The provider's classifier; called with status 200 and the frame's JSON and text. */
  classify?: ((input: ClassifyInput) => Classification | undefined) | undefined;
  /** Response headers handed to `classify`; default empty. */
  headers?: Headers | undefined;
  /** The request context handed to `classify` (see {@link ClassifyInput.route}). */
  classifyRoute?: ClassifyRoute | undefined;
}

/**
 * Builds the error for an `event: error` frame or a `{"error": {...}}` body sent with HTTP 200.
 * The provider's classifier decides the kind; without one, or when it returns undefined, the kind
 * is `provider`. The message names the route and quotes the provider's own message, if any.
 */
export function errorFromFrame(
  body: unknown,
  bodyText: string,
  options: ErrorFrameOptions,
): SluiceError {
  const classification = options.classify?.({
    status: statusOf(options),
    headers: options.headers ?? new Headers(),
    body,
    bodyText,
    ...(options.classifyRoute ? { route: options.classifyRoute } : {}),
  });

  const wire = wireError(body);
  const providerMessage = classification?.message ?? wire.message ?? truncate(bodyText);
  const message = redactSecrets(
    `${describeSource(options)} carried an error: ${providerMessage}`,
    options.secrets ?? [],
  );

  return new SluiceError({
    kind: classification?.kind ?? 'provider',
    retryable: classification?.retryable,
    message,
    hint: classification?.hint && redactSecrets(classification.hint, options.secrets ?? []),
    phase: 'stream',
    route: options.route,
    providerId: options.providerId,
    status: statusOf(options),
    providerCode: classification?.providerCode ?? wire.code,
    retryAfterMs: classification?.retryAfterMs,
  });
}

/** True for a parsed chunk that is an error body rather than a completion chunk. */
export function isErrorBody(chunk: Record<string, unknown>): boolean {
  const error = chunk.error;
  return error !== undefined && error !== null && error !== false;
}

function wireError(body: unknown): { message?: string; code?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const inner = record.error;
  const source =
    typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : record;

  const result: { message?: string; code?: string } = {};
  if (typeof source.message === 'string') result.message = source.message;
  else if (typeof inner === 'string') result.message = inner;
  if (typeof source.code === 'string' || typeof source.code === 'number') {
    result.code = String(source.code);
  }
  return result;
}

function truncate(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
