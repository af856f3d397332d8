import { createColors } from 'picocolors';

/** Where the CLI writes, and how: color and live redraws only on a TTY, never under `--json`. */
export interface Terminal {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream;
  /** True when the output may redraw in place (a TTY, not `--json`). */
  readonly live: boolean;
  readonly json: boolean;
  readonly colors: ReturnType<typeof createColors>;
  out(line?: string): void;
  err(line?: string): void;
}

/** Options of {@link createTerminal}. */
export interface TerminalOptions {
  stdout: Terminal['stdout'];
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  json?: boolean;
}

/**
 * Picks color and live output from the stream and the environment: `NO_COLOR` (any value) turns
 * color off, `FORCE_COLOR` turns it on (`0` off), a non-TTY stdout gets neither, `--json` neither.
 */
export function createTerminal(options: TerminalOptions): Terminal {
  const json = options.json ?? false;
  const isTTY = options.stdout.isTTY === true;
  const force = options.env.FORCE_COLOR;
  const colorOn =
    !json &&
    options.env.NO_COLOR === undefined &&
    (force !== undefined && force !== '' ? force !== '0' : isTTY);

  return {
    stdout: options.stdout,
    stderr: options.stderr,
    live: isTTY && !json,
    json,
    colors: createColors(colorOn),
    out: (line = '') => void options.stdout.write(`${line}\n`),
    err: (line = '') => void options.stderr.write(`${line}\n`),
  };
}
