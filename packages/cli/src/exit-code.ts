import { ConfigError, SluiceError } from '@sluice/core';
import { UsageError } from './usage-error.js';

/**
 * The exit codes of every `sluice` command, as the README lists them. `check` adds
 * {@link EXIT_NOT_KNOWN} for a default route that is not known to work.
 */
export const EXIT_OK = 0;
/** The job ran and failed: a provider error, a timeout, the network, a fleet with failures. */
export const EXIT_FAILED = 1;
/** Bad input: a usage error (flag, argument) or a config that cannot be used. Nothing was sent. */
export const EXIT_BAD_INPUT = 2;
/** `sluice check`: the default route is not known to work (not probed, or not in the catalog). */
export const EXIT_NOT_KNOWN = 3;
/** Ctrl-C (SIGINT). */
export const EXIT_INTERRUPTED = 130;
/** SIGTERM (`kill`, `timeout`, `docker stop`, systemd): 128 + 15, as shells count it. */
export const EXIT_TERMINATED = 143;

/**
 * True for a mistake in how sluice was called, which the user fixes in flags or the config file:
 * a {@link UsageError}, a {@link ConfigError}, any SluiceError of kind `config`, and a
 * `bad-request` the router refused before sending (phase `config`). A provider's own 400 answer,
 * a missing API key found when sending, a timeout or a network error is a runtime failure.
 */
export function isBadInput(error: unknown): boolean {
  if (error instanceof UsageError || ConfigError.isConfigError(error)) return true;
  // Not ConfigError.isInstance: that is SluiceError's, true for every SluiceError.
  if (!SluiceError.isInstance(error)) return false;
  if (error.kind === 'config') return true;
  return error.kind === 'bad-request' && error.phase === 'config' && error.status === undefined;
}

/** The exit code for an error a command threw: {@link EXIT_BAD_INPUT} or {@link EXIT_FAILED}. */
export function exitCodeOf(error: unknown): number {
  return isBadInput(error) ? EXIT_BAD_INPUT : EXIT_FAILED;
}
