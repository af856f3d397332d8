import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { createProgressView } from '../src/commands/fleet-command.js';
import { createTerminal } from '../src/terminal.js';
import type { SessionProgress } from '../src/fleet/run-fleet-scenario.js';

/** A stdout that says it is a TTY and keeps what is written. */
function fakeTty() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as Writable & { isTTY: boolean; columns: number };
  stream.isTTY = true;
  stream.columns = 100;
  return { stream, text: () => chunks.join('') };
}

const row: SessionProgress = {
  name: 'root',
  state: 'streaming',
  turn: 1,
  turns: 3,
  tokens: 42,
  retries: 0,
  failures: 0,
};

describe('the live progress view', () => {
  test('redraws in place on a TTY', async () => {
    const tty = fakeTty();
    const term = createTerminal({ stdout: tty.stream, stderr: tty.stream, env: { NO_COLOR: '1' } });
    const view = createProgressView(term);

    view.update([row]);
    await new Promise((resolve) => setTimeout(resolve, 250));
    view.update([{ ...row, state: 'done', turn: 3, tokens: 120 }]);
    view.done();

    expect(tty.text()).toContain('root     streaming  turn 1/3  tokens    42');
    expect(tty.text()).toContain('root     done       turn 3/3  tokens   120');
    // log-update erases the lines it drew (cursor up / erase line) before writing new ones.
    expect(tty.text()).toMatch(/\u001b\[2K/);
  });

  test('the CommonJS build loads where require() cannot load ES modules (trial: Node 20.18)', () => {
    const cjs = fileURLToPath(new URL('../dist/index.cjs', import.meta.url));
    // Node 20.17+ can require() ES modules; the flag turns that off, as on 20.18 and before.
    const flag = '--no-experimental-require-module';
    const flags = process.allowedNodeEnvironmentFlags.has(flag) ? [flag] : [];
    const output = execFileSync(
      process.execPath,
      [...flags, '-e', `console.log(typeof require(${JSON.stringify(cjs)}).runCli)`],
      { encoding: 'utf8' },
    );
    expect(output.trim()).toBe('function');
  });
});
