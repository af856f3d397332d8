import { UsageError } from './usage-error.js';

/** Where a command tried to listen: the port, and the host when the command has a `--host` flag. */
export interface ListenTarget {
  port: number;
  host?: string | undefined;
}

/**
 * A server that could not listen, as a usage error naming the flag to change (exit 2): the port
 * in use or not allowed (`--port`), or an address that is not this machine's (`--host`). Any
 * other error is returned as it is.
 */
export function listenError(error: unknown, target: ListenTarget): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') {
    return new UsageError(
      `port ${target.port} is in use; pick another with --port, or --port 0 for a free one.`,
    );
  }
  if (code === 'EACCES') {
    return new UsageError(
      `port ${target.port} is not allowed (ports below 1024 need privileges); pick a port above 1023 with --port, or --port 0 for a free one.`,
    );
  }
  if (code === 'EADDRNOTAVAIL') {
    const host = target.host ?? '127.0.0.1';
    return new UsageError(
      target.host === undefined
        ? `cannot listen on ${host}: it is not an address of this machine; check the loopback interface.`
        : `--host ${host} is not an address of this machine; bind 127.0.0.1, or an address this machine has.`,
    );
  }
  return error;
}
