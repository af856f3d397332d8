#!/usr/bin/env node
import { SluiceError } from '@sluice/core';
import { EXIT_INTERRUPTED, EXIT_TERMINATED } from './exit-code.js';
import { runCli } from './run-cli.js';

// Ctrl-C (SIGINT) or SIGTERM (`kill`, `timeout`, `docker stop`, systemd) aborts every stream,
// which frees every lease; the command then prints its partial summary and exits 130 (143 for
// SIGTERM); `simulate` and `dashboard` close their server and exit 0. A second signal exits at
// once.
const controller = new AbortController();
let stoppedBy: 'SIGINT' | 'SIGTERM' | undefined;
const codeOf = (signal: 'SIGINT' | 'SIGTERM') =>
  signal === 'SIGINT' ? EXIT_INTERRUPTED : EXIT_TERMINATED;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stoppedBy !== undefined) process.exit(codeOf(signal));
    stoppedBy = signal;
    controller.abort(
      new SluiceError({
        kind: 'aborted',
        message: signal === 'SIGINT' ? 'Interrupted (Ctrl-C).' : 'Terminated (SIGTERM).',
      }),
    );
  });
}

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
}).then(
  (code) => {
    // Commands report an interruption as 130; a SIGTERM's is 143, as shells count it.
    process.exitCode = code === EXIT_INTERRUPTED && stoppedBy ? codeOf(stoppedBy) : code;
  },
  (error: unknown) => {
    process.stderr.write(`sluice: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
