import { mkdtempSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createTerminal } from '../src/terminal.js';
import { cleanEnv, runSluice } from './run-sluice.js';

/** A stdout that is a TTY of `columns`, or a pipe (no isTTY, no columns). */
function stdout(tty?: { columns?: number }) {
  return Object.assign(new PassThrough(), tty ? { isTTY: true, ...tty } : {});
}

function widthOf(out: ReturnType<typeof stdout>, env: Record<string, string> = {}) {
  return createTerminal({ stdout: out, stderr: new PassThrough(), env }).width;
}

describe('the width tables are fitted to', () => {
  test('piped: no limit, so rows are printed whole', () => {
    expect(widthOf(stdout())).toBe(Number.POSITIVE_INFINITY);
  });

  test('piped with COLUMNS set: COLUMNS', () => {
    expect(widthOf(stdout(), { COLUMNS: '80' })).toBe(80);
    expect(widthOf(stdout(), { COLUMNS: ' 240 ' })).toBe(240);
  });

  test('a COLUMNS that is not a whole number above 0 is ignored', () => {
    for (const COLUMNS of ['', '0', 'wide', '-5', '80.5']) {
      expect(widthOf(stdout(), { COLUMNS })).toBe(Number.POSITIVE_INFINITY);
      expect(widthOf(stdout({ columns: 132 }), { COLUMNS })).toBe(132);
    }
  });

  test('a TTY: its own width, COLUMNS first when set, 100 when it reports none', () => {
    expect(widthOf(stdout({ columns: 132 }))).toBe(132);
    expect(widthOf(stdout({ columns: 132 }), { COLUMNS: '90' })).toBe(90);
    expect(widthOf(stdout({}))).toBe(100);
  });
});

describe('sluice check piped', () => {
  // Long names: the row is wider than 100 columns.
  const INSTANCE = 'nightly-refactoring-glm-coding-plan';
  const ROUTE = 'nightly-refactoring-agent-with-a-long-name';
  function wideConfig(): string {
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-width-')), 'sluice.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        providers: {
          [INSTANCE]: {
            use: 'zhipu',
            apiKey: 'k-0123456789abcdef',
            // A loopback port nobody listens on: nothing leaves this machine.
            endpoint: 'http://127.0.0.1:9/v4',
          },
        },
        routes: { [ROUTE]: { provider: INSTANCE, model: 'glm-4.6' } },
      }),
    );
    return file;
  }

  test('prints whole rows, past 100 columns, with every column and nothing cut', async () => {
    const run = await runSluice(['check', '--config', wideConfig()], { env: cleanEnv() });

    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^STATE\s+ROUTE\s+PROVIDER\s+MODEL\s+IN FLIGHT\s+QUEUED\s+WAIT p50\/p95\s+TTFT p50\/p95\s+FAILURES$/,
    );
    const row = lines.find((line) => line.includes(ROUTE))!;
    expect(row).toContain(`${INSTANCE} (zhipu)`);
    expect(row.length).toBeGreaterThan(100);
    expect(run.stdout).not.toContain('…');
  });

  test('with COLUMNS set, fits the table to it', async () => {
    const run = await runSluice(['check', '--config', wideConfig()], {
      env: cleanEnv({ COLUMNS: '80' }),
    });

    const lines = run.stdout.split('\n').filter((line) => !line.startsWith('config: '));
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80);
    expect(lines[0]).not.toContain('FAILURES');
    expect(run.stdout).toContain('nightly…');
  });
});
