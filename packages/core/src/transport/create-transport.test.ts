import { afterEach, describe, expect, it } from 'vitest';
import { startLoopbackServer, type LoopbackServer } from '../../test/support/loopback-server.js';
import { AbortScope } from '../pipeline/abort-scope.js';
import { createTransport, type Transport } from './create-transport.js';

let server: LoopbackServer | undefined;
let transport: Transport | undefined;

afterEach(async () => {
  await transport?.close();
  await server?.close();
  transport = undefined;
  server = undefined;
});

describe('createTransport', () => {
  it('reuses one keep-alive connection for sequential requests', async () => {
    server = await startLoopbackServer((_request, response) => response.end('ok'));
    transport = createTransport({ connections: 2 });
    for (let index = 0; index < 3; index++) {
      expect(await (await transport.fetch(server.url)).text()).toBe('ok');
      // undici hands the socket back to the pool a tick after the body's last byte.
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(server.requests).toBe(3);
    expect(server.connections).toBe(1);
  });

  it('caps the pool at `connections` sockets', async () => {
    server = await startLoopbackServer((_request, response) => {
      setTimeout(() => response.end('ok'), 50);
    });
    transport = createTransport({ connections: 2 });
    const bodies = await Promise.all(
      Array.from({ length: 6 }, async () => (await transport!.fetch(server!.url)).text()),
    );
    expect(bodies).toEqual(Array(6).fill('ok'));
    expect(server.connections).toBe(2);
    expect(server.peakInFlight).toBe(2);
  });

  it('uses an injected fetch as is, with no dispatcher', async () => {
    const calls: string[] = [];
    const injected = (async (input: string | URL | Request) => {
      calls.push(String(input));
      return new Response('fake');
    }) as typeof fetch;
    transport = createTransport({ fetch: injected, connections: 1 });
    expect(transport.dispatcher).toBeUndefined();
    expect(await (await transport.fetch('http://example.invalid/x')).text()).toBe('fake');
    expect(calls).toEqual(['http://example.invalid/x']);
  });

  it('never cuts a slow header wait short on its own: undici header and body timers are off', async () => {
    // The dispatcher's own timers are 0; a response slower than a tiny dispatcher timer would be
    // still arrives. The phase deadlines are tested with the deadlines middleware.
    server = await startLoopbackServer((_request, response) => {
      setTimeout(() => response.end('late'), 300);
    });
    transport = createTransport({ connections: 1 });
    expect(await (await transport.fetch(server.url)).text()).toBe('late');
  });

  it('send: an abort while waiting for headers fails the fetch with the reason and closes the socket', async () => {
    server = await startLoopbackServer(() => {}); // never answers
    transport = createTransport({ connections: 1 });
    const scope = new AbortScope();
    const pending = transport.send(server.url, { method: 'POST', body: 'x' }, scope);
    await expect.poll(() => server!.inFlight).toBe(1);
    const reason = new Error('deadline');
    scope.abort(reason);
    const failure = await pending.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).cause).toBe(reason);
    await server.socketsClosed(1);
    expect(server.openSockets).toBe(0);
  });

  it('send: an abort before undici connected is applied once it does, and nothing hangs', async () => {
    server = await startLoopbackServer((_request, response) => response.end('too late'));
    transport = createTransport({ connections: 1 });
    const scope = new AbortScope();
    const pending = transport.send(server.url, {}, scope);
    scope.abort(new Error('cancelled at once'));
    const failure = await pending.catch((error: unknown) => error);
    expect((failure as TypeError).cause).toMatchObject({ message: 'cancelled at once' });
  });

  it('send: a request that was not aborted streams as from fetch, and keeps its socket', async () => {
    server = await startLoopbackServer((_request, response) => response.end('ok'));
    transport = createTransport({ connections: 1 });
    for (let index = 0; index < 2; index++) {
      const response = await transport.send(server.url, {}, new AbortScope());
      expect(await response.text()).toBe('ok');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(server.connections).toBe(1);
  });

  it('send: an injected fetch gets the scope as a signal that aborts with it', async () => {
    let seen: AbortSignal | undefined;
    const injected = (async (_input: unknown, init?: RequestInit) => {
      seen = init?.signal ?? undefined;
      return new Response('fake');
    }) as typeof fetch;
    transport = createTransport({ fetch: injected, connections: 1 });
    const scope = new AbortScope();
    await transport.send('http://example.invalid/x', {}, scope);
    expect(seen?.aborted).toBe(false);
    scope.abort('stop');
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe('stop');
  });
});
