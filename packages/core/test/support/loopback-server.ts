import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A real HTTP server on 127.0.0.1, port 0, for timing, socket and reset tests. */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Requests received so far. */
  readonly requests: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Sockets open now. */
  readonly openSockets: number;
  /** Requests whose response is still open now, and the most seen at once. */
  readonly inFlight: number;
  readonly peakInFlight: number;
  /** Resolves when the server has seen `count` sockets close since it started. */
  socketsClosed(count: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a loopback server running `handler` for every request. */
export async function startLoopbackServer(
  handler: (request: IncomingMessage, response: ServerResponse, index: number) => void,
): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  let requests = 0;
  let connections = 0;
  let closedSockets = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  const closeWaiters: Array<{ count: number; resolve: () => void }> = [];

  const server = createServer((request, response) => {
    const index = requests++;
    inFlight += 1;
    peakInFlight = Math.max(peakInFlight, inFlight);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inFlight -= 1;
    };
    response.on('close', finish);
    handler(request, response, index);
  });
  server.on('connection', (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      closedSockets += 1;
      for (const waiter of [...closeWaiters]) {
        if (closedSockets >= waiter.count) {
          closeWaiters.splice(closeWaiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    get openSockets() {
      return sockets.size;
    },
    get inFlight() {
      return inFlight;
    },
    get peakInFlight() {
      return peakInFlight;
    },
    socketsClosed(count) {
      if (closedSockets >= count) return Promise.resolve();
      return new Promise((resolve) => closeWaiters.push({ count, resolve }));
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
