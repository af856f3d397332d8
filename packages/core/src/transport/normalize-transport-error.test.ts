import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../errors/sluice-error.js';
import { startLoopbackServer, type LoopbackServer } from '../../test/support/loopback-server.js';
import { normalizeTransportError } from './normalize-transport-error.js';

const context = { phase: 'headers' as const, route: 'main', providerId: 'testprov' };
let server: LoopbackServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('normalizeTransportError', () => {
  it('maps a refused connection to a retryable network error in the connect phase', async () => {
    const probe = await startLoopbackServer(() => {});
    const url = probe.url;
    await probe.close();

    const error = normalizeTransportError(await failureOf(fetch(url)), context);
    expect(error.kind).toBe('network');
    expect(error.phase).toBe('connect');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('Connection refused');
    expect(error.message).toContain('route "main"');
  });

  it('a port fetch refuses (WHATWG bad port) is not retried and says to use another port', async () => {
    const error = normalizeTransportError(await failureOf(fetch('http://127.0.0.1:1/v1')), context);
    expect(error.kind).toBe('network');
    expect(error.phase).toBe('connect');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Port refused by fetch');
    expect(error.hint).toContain('another port');
  });

  it('a redirect refused by the router (redirect: error) is not retried and says to fix the endpoint', async () => {
    server = await startLoopbackServer((_request, response) => {
      response.writeHead(307, { location: 'https://elsewhere.invalid/v1' });
      response.end();
    });
    const failure = await failureOf(
      fetch(server.url, { method: 'POST', body: '{}', redirect: 'error' }),
    );

    const error = normalizeTransportError(failure, context);
    expect(error).toMatchObject({ kind: 'provider', phase: 'headers', retryable: false });
    expect(error.message).toContain(
      'The endpoint answered with a redirect (HTTP 3xx) on route "main"',
    );
    expect(error.hint).toContain('set the endpoint to the URL it redirects to');
  });

  it('maps a socket reset before the headers to a network error', async () => {
    server = await startLoopbackServer((request) => request.socket.destroy());
    const error = normalizeTransportError(await failureOf(fetch(server.url)), context);
    expect(error.kind).toBe('network');
    expect(error.phase).toBe('headers');
    expect(error.message).toContain('Connection reset');
  });

  it('maps a body cut by the peer to a network error of the stream phase', async () => {
    server = await startLoopbackServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: {}\n\n', () => setTimeout(() => response.socket?.destroy(), 20));
    });
    const response = await fetch(server.url);
    const error = normalizeTransportError(await failureOf(response.text()), {
      ...context,
      phase: 'stream',
    });
    expect(error.kind).toBe('network');
    expect(error.phase).toBe('stream');
  });

  it('maps aborts, timeouts, DNS and TLS failures by name and code', () => {
    const abort = normalizeTransportError(new DOMException('gone', 'AbortError'), context);
    expect(abort.kind).toBe('aborted');
    expect(normalizeTransportError(new DOMException('slow', 'TimeoutError'), context).kind).toBe(
      'timeout',
    );

    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), {
      code: 'ENOTFOUND',
    });
    const notFound = normalizeTransportError(
      new TypeError('fetch failed', { cause: dns }),
      context,
    );
    expect(notFound).toMatchObject({ kind: 'network', phase: 'connect', retryable: false });

    const tls = Object.assign(new Error('self-signed certificate'), {
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    const handshake = normalizeTransportError(
      new TypeError('fetch failed', { cause: tls }),
      context,
    );
    expect(handshake).toMatchObject({ kind: 'network', retryable: false });
    expect(handshake.message).toContain('TLS');
  });

  it('passes a SluiceError through and redacts secrets from the cause text', () => {
    const own = new SluiceError({ kind: 'timeout', message: 'deadline' });
    expect(normalizeTransportError(own, context)).toBe(own);

    const secret = 'sk-live-abcdefghijklmnop';
    const leaky = new TypeError('fetch failed', {
      cause: Object.assign(new Error(`bad header Bearer ${secret}`), { code: 'ECONNRESET' }),
    });
    const error = normalizeTransportError(leaky, { ...context, secrets: [secret] });
    expect(error.message).not.toContain(secret);
    expect(error.message).toContain('sk-l…');
  });
});
