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
