import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built command, as a user runs it; nx builds it before the tests. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

export interface SluiceRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Env without any provider key, so nothing reaches a real API by accident, and without the
 * shell's COLUMNS, so piped output has the same width on every machine.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  for (const name of ['ZHIPU_API_KEY', 'ZAI_API_KEY', 'GLM_API_KEY', 'FORCE_COLOR', 'COLUMNS']) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

/** Runs `sluice ...args` as a child process; `onStart` may signal it (Ctrl-C tests). */
export function runSluice(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void;
  } = {},
): Promise<SluiceRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: options.env ?? cleanEnv(),
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      options.onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
