import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CONFIG_FILE_NAMES } from '@sluice/core';

/**
 * Which config file was read, and the other `sluice.config.*` beside it that were not: the line
 * `check` prints under its table, and every command under an error, so the user knows which
 * file to fix. A path only: nothing from the file's contents, so no secret.
 */
export function configLine(file: string): string {
  const others = CONFIG_FILE_NAMES.filter(
    (name) => name !== basename(file) && existsSync(join(dirname(file), name)),
  );
  return others.length === 0
    ? `config: ${file}`
    : `config: ${file} (also found, not read: ${others.join(', ')})`;
}

const readFrom = new WeakMap<object, string>();

/**
 * Notes that `error` was raised by a command that had read the config `file` (nothing when
 * `file` is undefined), for the CLI's error report to name it. Returns `error`, to rethrow.
 */
export function withConfigFile<E>(error: E, file: string | undefined): E {
  if (file !== undefined && typeof error === 'object' && error !== null) readFrom.set(error, file);
  return error;
}

/** The config file noted on `error` by {@link withConfigFile}, if any. */
export function configFileOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? readFrom.get(error) : undefined;
}
