import type { RequestPhase, SluiceErrorKind } from '../errors/sluice-error.js';
import { SluiceError } from '../errors/sluice-error.js';
import { redactErrorSecrets, redactSecrets } from '../errors/redact.js';

/** Where a transport error happened, for its message and fields. */
export interface TransportErrorContext {
  /** The phase the request was in; a refused or unresolvable connection is always `connect`. */
  phase: RequestPhase;
  route: string;
  providerId: string;
  /** Values to strip from any text taken from the underlying error (API keys). */
  secrets?: Iterable<string | undefined>;
}

interface Verdict {
  kind: SluiceErrorKind;
  phase?: RequestPhase;
  retryable?: boolean;
  what: string;
  hint?: string;
}

const RESET_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/**
 * Turns anything a `fetch` call or a body read can throw into a {@link SluiceError}. This is the
 * one place that knows undici's and Node's error shapes: socket resets (`ECONNRESET`,
 * `UND_ERR_SOCKET`, `terminated`), refused connections, DNS failures, TLS failures, `fetch failed`
 * and aborts map to the kinds `network`, `timeout` and `aborted`.
 *
 * A SluiceError passes through as the same object, with any of `secrets` in its message, hint or
 * stack masked: errors built from what the provider sent (an error frame in a 200 body, a finish
 * reason, a chunk that could not be parsed) may quote the request's key back. Text taken from
 * any other cause is redacted with `secrets` too.
 * A DNS name that does not exist and TLS certificate failures are not retryable: another attempt
 * meets the same answer.
 */
export function normalizeTransportError(
  error: unknown,
  context: TransportErrorContext,
): SluiceError {
  if (SluiceError.isInstance(error)) return redactErrorSecrets(error, context.secrets ?? []);

  const verdict = judge(error);
  const where = `route "${context.route}" (provider ${context.providerId})`;
  const detail = redactSecrets(describe(error), context.secrets ?? []);

  return new SluiceError({
    kind: verdict.kind,
    message: `${verdict.what} on ${where}: ${detail}.`,
    ...(verdict.hint ? { hint: verdict.hint } : {}),
    ...(verdict.retryable === undefined ? {} : { retryable: verdict.retryable }),
    phase: verdict.phase ?? context.phase,
    route: context.route,
    providerId: context.providerId,
    cause: error,
  });
}

function judge(error: unknown): Verdict {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'AbortError') return { kind: 'aborted', what: 'Request aborted' };
  if (name === 'TimeoutError') return { kind: 'timeout', what: 'Request timed out' };

  for (const code of codesOf(error)) {
    if (RESET_CODES.has(code)) return { kind: 'network', what: 'Connection reset' };
    if (code === 'ECONNREFUSED') {
      return {
        kind: 'network',
        phase: 'connect',
        what: 'Connection refused',
        hint: 'Check that the endpoint URL and port are right and the server is up.',
      };
    }
    if (DNS_CODES.has(code)) {
      return {
        kind: 'network',
        phase: 'connect',
        retryable: code === 'EAI_AGAIN',
        what: 'Host name could not be resolved',
        hint: 'Check the endpoint host name in the route config.',
      };
    }
    if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', what: 'Network timeout' };
    if (TLS_CODE.test(code)) {
      return {
        kind: 'network',
        phase: 'connect',
        retryable: false,
        what: 'TLS handshake failed',
        hint: 'Check the endpoint URL (https) and the certificate chain.',
      };
    }
  }

  // fetch refuses the ports of the WHATWG "bad port" list (1, 22, 25, 6000, ...) before
  // connecting, with a cause that has no code. Another attempt meets the same refusal.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (error instanceof TypeError && cause instanceof Error && cause.message === 'bad port') {
    return {
      kind: 'network',
      phase: 'connect',
      retryable: false,
      what: 'Port refused by fetch',
      hint: 'fetch never connects to ports on the WHATWG bad-port list (1, 22, 25, 6000, ...): serve the endpoint on another port.',
    };
  }

  // The router's fetch sets redirect: 'error': a chat endpoint that redirects a POST carrying a
  // key is misconfigured (or a proxy's login page), and every attempt meets the same redirect.
  if (
    error instanceof TypeError &&
    cause instanceof Error &&
    cause.message === 'unexpected redirect'
  ) {
    return {
      kind: 'provider',
      phase: 'headers',
      retryable: false,
      what: 'The endpoint answered with a redirect (HTTP 3xx)',
      hint: 'Sluice does not follow redirects of a request that carries an API key: set the endpoint to the URL it redirects to (often https instead of http, or a trailing path).',
    };
  }

  // undici ends a body cut by the peer with a bare `terminated` TypeError; `fetch failed` wraps
  // every connect-time failure whose cause carried no code we know.
  const message = error instanceof Error ? error.message : '';
  if (message === 'terminated') return { kind: 'network', what: 'Connection closed mid-response' };
  if (error instanceof TypeError) return { kind: 'network', what: 'Request failed' };
  return { kind: 'unknown', retryable: false, what: 'Unexpected transport failure' };
}

/** Error codes along the cause chain, outermost first (undici nests the socket error). */
function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    const nested = (current as { errors?: unknown }).errors;
    if (Array.isArray(nested)) codes.push(...nested.flatMap((inner) => codesOf(inner)));
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 3 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      parts.push(typeof code === 'string' ? `${current.message} (${code})` : current.message);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.filter((part) => part.length > 0).join(': ') || 'no detail';
}
