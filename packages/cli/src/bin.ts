#!/usr/bin/env node
import { SluiceError } from '@sluice/core';
import { runCli } from './run-cli.js';

// Ctrl-C aborts every stream, which frees every lease; the command then prints its partial
// summary and exits 130. A second Ctrl-C exits at once.
const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort(new SluiceError({ kind: 'aborted', message: 'Interrupted (Ctrl-C).' }));
  process.once('SIGINT', () => process.exit(130));
});

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`sluice: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
