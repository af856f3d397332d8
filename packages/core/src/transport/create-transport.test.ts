import { afterEach, describe, expect, it } from 'vitest';
import { startLoopbackServer, type LoopbackServer } from '../../test/support/loopback-server.js';
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
});
