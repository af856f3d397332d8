/**
 * Shows enough of a secret to recognise it and no more: `sk-a…` for a long key, `…` for a short
 * one. Use it wherever a configured value may be a key (config errors, readiness output).
 */
export function maskSecret(value: string): string {
  if (value.length < 12) return '…';
  return `${value.slice(0, 4)}…`;
}

/**
 * Replaces every occurrence of each secret in `text` with its mask. Applied to anything that
 * leaves a package (error messages built from response bodies, event payloads, pages).
 *
 * A secret is found in any letter case and with any of its characters percent-encoded, as a
 * provider or proxy may quote a key back (`SK-ABC…`, `sk%2Dabc…`). Secrets shorter than 4
 * characters are ignored: masking them would garble ordinary text.
 */
export function redactSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    // Every form of a secret is at least as long as the secret: short texts need no search.
    if (!secret || secret.length < 4 || out.length < secret.length) continue;
    out = out.replace(secretPattern(secret), maskSecret(secret));
  }
  return out;
}

/** Whether `text` holds any of `secrets`, in any of the forms {@link redactSecrets} masks. */
export function containsSecret(text: string, secrets: Iterable<string | undefined>): boolean {
  for (const secret of secrets) {
    if (!secret || secret.length < 4 || text.length < secret.length) continue;
    if (text.search(secretPattern(secret)) !== -1) return true;
  }
  return false;
}

/** Patterns of the secrets seen lately; a process has a handful of keys, so this stays small. */
const patterns = new Map<string, RegExp>();
const MAX_PATTERNS = 64;

function secretPattern(secret: string): RegExp {
  let pattern = patterns.get(secret);
  if (pattern === undefined) {
    if (patterns.size >= MAX_PATTERNS) patterns.clear();
    pattern = new RegExp([...secret].map(charPattern).join(''), 'gi');
    patterns.set(secret, pattern);
  }
  return pattern;
}

const encoder = new TextEncoder();

/** One character of a secret: itself, or its UTF-8 bytes percent-encoded. */
function charPattern(char: string): string {
  const literal = char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  const encoded = [...encoder.encode(char)]
    .map((byte) => `%${byte.toString(16).padStart(2, '0')}`)
    .join('');
  return `(?:${literal}|${encoded})`;
}

/**
 * Masks every secret in an error's own texts, in place: its message, its stack and, for a
 * SluiceError, its hint. The error keeps its identity (layers compare errors they raised), and
 * its `cause` is left alone: a SluiceError's `toJSON()` carries no cause. Returns the error.
 */
export function redactErrorSecrets<E>(error: E, secrets: Iterable<string | undefined>): E {
  if (typeof error !== 'object' || error === null) return error;
  const list = [...secrets].filter((secret): secret is string => !!secret && secret.length >= 4);
  if (list.length === 0) return error;
  const target = error as { message?: unknown; stack?: unknown; hint?: unknown };
  for (const field of ['message', 'stack', 'hint'] as const) {
    const text = target[field];
    if (typeof text !== 'string' || !containsSecret(text, list)) continue;
    try {
      Object.defineProperty(error, field, {
        value: redactSecrets(text, list),
        writable: true,
        configurable: true,
        enumerable: field === 'hint',
      });
    } catch {
      // A frozen error cannot be masked here; the transport's own errors never are.
    }
  }
  return error;
}
