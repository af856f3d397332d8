import { describe, expect, test } from 'vitest';
import { listenError } from '../src/listen-error.js';
import { UsageError } from '../src/usage-error.js';
import { runSluice } from './run-sluice.js';

const errno = (code: string) => Object.assign(new Error(`listen ${code}`), { code });

describe('listenError', () => {
  test('EACCES is a usage error naming --port and a port above 1023', () => {
    const error = listenError(errno('EACCES'), { port: 80, host: '127.0.0.1' });

    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(/port 80 is not allowed/);
    expect((error as Error).message).toMatch(/--port/);
    expect((error as Error).message).toMatch(/above 1023/);
  });

  test('EADDRNOTAVAIL is a usage error naming --host and 127.0.0.1', () => {
    const error = listenError(errno('EADDRNOTAVAIL'), { port: 0, host: '10.255.255.1' });

    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(
      '--host 10.255.255.1 is not an address of this machine',
    );
    expect((error as Error).message).toContain('bind 127.0.0.1');
  });

  test('EADDRINUSE keeps its advice; other errors are returned as they are', () => {
    expect((listenError(errno('EADDRINUSE'), { port: 4000 }) as Error).message).toBe(
      'port 4000 is in use; pick another with --port, or --port 0 for a free one.',
    );
    const other = errno('ECONNRESET');
    expect(listenError(other, { port: 0 })).toBe(other);
  });
});

describe('sluice dashboard --host with an address not on this machine', () => {
  // 10.255.255.1 is not bound here: listen fails locally, no traffic is sent.
  test('exits 2 naming --host and the fix, without the raw listen error', async () => {
    const run = await runSluice([
      'dashboard',
      '--simulate',
      '--host',
      '10.255.255.1',
      '--token',
      '0123456789abcdef0123',
    ]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--host 10.255.255.1 is not an address of this machine');
    expect(run.stderr).toContain('bind 127.0.0.1');
    expect(run.stderr).not.toMatch(/listen EADDRNOTAVAIL/);
    expect(run.stderr).not.toContain('0123456789abcdef0123');
  }, 30_000);
});
