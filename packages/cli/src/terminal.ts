import { createColors } from 'picocolors';

/** Where the CLI writes, and how: color and live redraws only on a TTY, never under `--json`. */
export interface Terminal {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream;
  /** True when the output may redraw in place (a TTY, not `--json`). */
  readonly live: boolean;
  readonly json: boolean;
  /**
   * Columns to fit tables to: `COLUMNS` when set, else the TTY's width; piped output without
   * `COLUMNS` has no limit (`Infinity`), so rows are printed whole.
   */
  readonly width: number;
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
    width: outputWidth(options.stdout, options.env),
    colors: createColors(colorOn),
    out: (line = '') => void options.stdout.write(`${line}\n`),
    err: (line = '') => void options.stderr.write(`${line}\n`),
  };
}

/** The width a TTY is assumed to have when it reports none. */
const TTY_FALLBACK_WIDTH = 100;

/**
 * `COLUMNS` (a whole number above 0) wins, as it does for `ls` and most CLIs; else a TTY's own
 * width; else, piped to a file or another program, no limit: nothing there wraps at a width.
 */
function outputWidth(stdout: Terminal['stdout'], env: Record<string, string | undefined>): number {
  const columns = env.COLUMNS?.trim();
  if (columns !== undefined && /^\d+$/.test(columns) && Number(columns) > 0) return Number(columns);
  if (stdout.isTTY === true) return stdout.columns || TTY_FALLBACK_WIDTH;
  return Number.POSITIVE_INFINITY;
}
