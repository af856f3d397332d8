import { SluiceError, valueForMessage } from '@sluice/core';

/** The longest delay `setTimeout` honours; a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * @throws SluiceError kind `config` unless `value` is undefined or a number of ms from 1 to
 *   {@link MAX_TIMER_MS}, naming `where`, the option and the fix.
 */
export function checkHandshakeTimeout(where: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 1 && value <= MAX_TIMER_MS) {
    return;
  }
  throw new SluiceError({
    kind: 'config',
    message: `${where}: handshakeTimeoutMs must be a number of ms from 1 to ${MAX_TIMER_MS}, got ${valueForMessage(value)}.`,
    hint: 'Pass e.g. { handshakeTimeoutMs: 5000 } (the default), or leave it out.',
  });
}
