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
 * Secrets shorter than 4 characters are ignored: masking them would garble ordinary text.
 */
export function redactSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    out = out.split(secret).join(maskSecret(secret));
  }
  return out;
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
    if (typeof text !== 'string' || !list.some((secret) => text.includes(secret))) continue;
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
