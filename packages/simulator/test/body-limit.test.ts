import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import type { Simulator, SimulatorEvent } from '../src/index.js';
import { startSimulator } from '../src/index.js';
import { postChat, settlesWithin } from './helpers.js';

const LIMIT = 8 * 1024 * 1024;
const CHAT_PATH = '/api/coding/paas/v4/chat/completions';

let sim: Simulator | undefined;
let socket: Socket | undefined;
afterEach(async () => {
  socket?.destroy();
  socket = undefined;
  await sim?.close();
  sim = undefined;
});

/** What came back on a raw connection: every byte, and whether the server closed it. */
interface RawExchange {
  socket: Socket;
  /** Resolves with the text received once the server has closed the connection. */
  closed: Promise<string>;
  /** Resolves with the text received once it contains `marker`. */
  received(marker: string): Promise<string>;
}

function open(target: Simulator, head: string): RawExchange {
  const raw = connect(target.port, '127.0.0.1');
  socket = raw;
  let text = '';
  const waiters: Array<() => void> = [];
  raw.setEncoding('latin1');
  raw.on('data', (chunk: string) => {
    text += chunk;
    for (const wake of waiters) wake();
  });
  // A write racing the server's close may fail with EPIPE or ECONNRESET; what counts is the answer.
  raw.on('error', () => {});
  const closed = new Promise<string>((resolve) => raw.on('close', () => resolve(text)));
  raw.write(head);
  return {
    socket: raw,
    closed,
    received: (marker) =>
      new Promise<string>((resolve) => {
        const check = () => {
          if (text.includes(marker)) resolve(text);
        };
        waiters.push(check);
        check();
      }),
  };
}

function requestHead(target: Simulator, headers: Record<string, string>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `POST ${CHAT_PATH} HTTP/1.1\r\nhost: 127.0.0.1:${target.port}\r\ncontent-type: application/json\r\n${lines.join('')}\r\n`;
}

/** Splits a raw HTTP/1.1 answer into its status line, headers and body. */
function parseAnswer(text: string) {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...headerLines] = text.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(
    headerLines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  let raw = text.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') raw = dechunk(raw);
  return { statusLine, headers, body: Buffer.from(raw, 'latin1').toString('utf8') };
}

/** Joins the chunks of a chunked HTTP/1.1 body. */
function dechunk(raw: string): string {
  let body = '';
  for (let at = 0; ;) {
    const lineEnd = raw.indexOf('\r\n', at);
    const size = Number.parseInt(raw.slice(at, lineEnd), 16);
    if (!(size > 0)) return body;
    body += raw.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

async function startRecording(): Promise<{ target: Simulator; events: SimulatorEvent[] }> {
  const events: SimulatorEvent[] = [];
  sim = await startSimulator({
    source: 'generate',
    outputTokens: 4,
    onEvent: (event) => events.push(event),
  });
  return { target: sim, events };
}

function expectTooLargeAnswer(text: string, what: string): void {
  const { statusLine, headers, body } = parseAnswer(text);
  expect(statusLine).toBe('HTTP/1.1 413 Payload Too Large');
  expect(headers['connection']).toBe('close');
  expect(headers['content-type']).toBe('application/json; charset=UTF-8');
  const error = JSON.parse(body).error;
  expect(error.code).toBe('1214');
  expect(error.message).toBe(
    `参数非法。请检查文档: request body too large (${what}); the simulator reads at most ` +
      `${LIMIT} bytes (8 MiB): send a smaller body (fewer or shorter messages)`,
  );
}

/** The server still serves, and counted the large body as one failed request. */
async function expectStillServing(target: Simulator, events: SimulatorEvent[]): Promise<void> {
  const next = await postChat(target.baseURL);
  expect(next.status).toBe(200);
  expect(await next.text()).toContain('[DONE]');
  expect(target.stats()).toMatchObject({
    requests: 2,
    failed: 1,
    completed: 1,
    aborted: 0,
    resets: 0,
    inFlight: 0,
    streaming: 0,
    peakStreaming: 1,
  });
  expect(events.filter((event) => event.index === 0).map((event) => event.type)).toEqual([
    'request',
    'failed',
  ]);
  expect(events.find((event) => event.type === 'failed')).toMatchObject({
    status: 413,
    code: '1214',
  });
}

describe('request body limit (8 MiB)', () => {
  it('answers 413 to a declared Content-Length over the limit and closes without reading the rest', async () => {
    const { target, events } = await startRecording();
    const declared = 60_000_000;
    const exchange = open(target, requestHead(target, { 'content-length': String(declared) }));
    // A first part of the body; the rest is never sent, so only an answer that does not wait
    // for the whole body arrives, and only a server that closes ends the connection.
    exchange.socket.write('a'.repeat(64 * 1024));

    const text = await settlesWithin(exchange.closed, 5_000);
    expect(text).not.toBe('timeout');
    expectTooLargeAnswer(text as string, `Content-Length: ${declared}`);
    await expectStillServing(target, events);
  });

  it('answers 413 instead of 100 Continue to Expect: 100-continue with a too-large length', async () => {
    const { target, events } = await startRecording();
    const declared = LIMIT + 1;
    const exchange = open(
      target,
      requestHead(target, { 'content-length': String(declared), expect: '100-continue' }),
    );

    // No body byte is sent: the answer must come from the headers alone.
    const text = await settlesWithin(exchange.closed, 5_000);
    expect(text).not.toBe('timeout');
    expect(text as string).not.toContain('100 Continue');
    expectTooLargeAnswer(text as string, `Content-Length: ${declared}`);
    await expectStillServing(target, events);
  });

  it('still sends 100 Continue, then serves, when Expect: 100-continue declares a body under the limit', async () => {
    const { target } = await startRecording();
    const body = JSON.stringify({
      model: 'glm-4.6',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const exchange = open(
      target,
      requestHead(target, {
        'content-length': String(Buffer.byteLength(body)),
        expect: '100-continue',
      }),
    );
    await settlesWithin(exchange.received('100 Continue'), 5_000);
    exchange.socket.write(body);

    const text = await settlesWithin(exchange.received('data: [DONE]'), 5_000);
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(text).toContain('data: [DONE]');
  });

  it('answers 413 to a chunked body once it passes the limit and closes the connection', async () => {
    const { target, events } = await startRecording();
    const exchange = open(target, requestHead(target, { 'transfer-encoding': 'chunked' }));
    // 9 MiB in 1 MiB chunks and no terminating chunk: the body never ends on its own.
    const chunk = 'a'.repeat(1024 * 1024);
    for (let sent = 0; sent < 9; sent += 1) {
      exchange.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    }

    const text = await settlesWithin(exchange.closed, 5_000);
    expect(text).not.toBe('timeout');
    expectTooLargeAnswer(text as string, `over ${LIMIT} bytes sent without a Content-Length`);
    await expectStillServing(target, events);
  });

  it('reads a body just under the limit as usual (400 1214 for a body that is not JSON)', async () => {
    const { target } = await startRecording();
    const response = await fetch(`${target.baseURL}/chat/completions`, {
      method: 'POST',
      body: 'a'.repeat(LIMIT),
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatchObject({
      code: '1214',
      message: '参数非法。请检查文档: request body is not valid JSON',
    });
  });
});
