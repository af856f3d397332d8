import type { Serializable } from 'node:child_process';
import type { Socket } from 'node:net';
import type { MessagePort } from 'node:worker_threads';

import type { FrameChannel } from './budget-protocol.js';

/**
 * Key under which budget frames travel on a shared IPC channel, so the user's own
 * `process.send()` messages and ours never mix.
 */
export const IPC_MESSAGE_KEY = '@sluice/budget';

/** Lines longer than this are a broken or hostile peer, not a budget client: the socket is closed. */
const MAX_LINE_CHARS = 8 * 1024 * 1024;

/** A failed IPC write means the peer is gone; its 'disconnect' closes the channel right after. */
function ignoreSendError(): void {}

/** Frames over a dedicated MessagePort (worker threads). Structured clone, no JSON. */
export function messagePortChannel<In, Out>(port: MessagePort): FrameChannel<In, Out> {
  let closed = false;
  const closeListeners: Array<(reason: string) => void> = [];

  const markClosed = (reason: string): void => {
    if (closed) return;
    closed = true;
    for (const listener of closeListeners) listener(reason);
  };
  port.on('close', () => markClosed('the other thread closed the budget message port'));

  return {
    send(frames) {
      if (!closed) port.postMessage(frames);
    },
    onFrames(listener) {
      port.on('message', listener);
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
    close() {
      port.close();
      markClosed('this side closed the budget channel');
    },
    ref: () => port.ref(),
    unref: () => port.unref(),
  };
}

/** The part of `process` (in a child) and of a `ChildProcess` (in the parent) that IPC uses. */
export interface IpcEndpoint {
  send?(message: Serializable, callback: (error: Error | null) => void): boolean;
  connected?: boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  channel?: { ref(): void; unref(): void } | null | undefined;
}

/**
 * Frames over a child process's IPC channel: `process` in the child, the `ChildProcess` in the
 * parent. Messages carry {@link IPC_MESSAGE_KEY}, so the channel can still carry the user's own.
 */
export function ipcChannel<In, Out>(
  endpoint: IpcEndpoint,
  options: { side: 'child' | 'parent' },
): FrameChannel<In, Out> {
  let closed = false;
  const closeListeners: Array<(reason: string) => void> = [];
  const frameListeners: Array<(frames: In[]) => void> = [];

  const markClosed = (reason: string): void => {
    if (closed) return;
    closed = true;
    endpoint.off('message', onMessage);
    for (const listener of closeListeners) listener(reason);
  };

  function onMessage(message: unknown): void {
    if (typeof message !== 'object' || message === null || !(IPC_MESSAGE_KEY in message)) return;
    const frames = (message as Record<string, unknown>)[IPC_MESSAGE_KEY];
    if (!Array.isArray(frames)) return;
    for (const listener of frameListeners) listener(frames as In[]);
  }

  endpoint.on('message', onMessage);
  endpoint.on('disconnect', () =>
    markClosed(
      options.side === 'child'
        ? 'the parent process disconnected its IPC channel'
        : 'the child process disconnected its IPC channel',
    ),
  );
  if (endpoint.connected === false)
    queueMicrotask(() => markClosed('the IPC channel was already disconnected'));

  return {
    send(frames) {
      if (closed || !endpoint.send || endpoint.connected === false) return;
      try {
        // With a callback, a write that fails because the peer just died (EPIPE) is reported
        // here instead of as an 'error' event nobody may be listening to.
        endpoint.send({ [IPC_MESSAGE_KEY]: frames }, ignoreSendError);
      } catch {
        // A send racing a disconnect throws ERR_IPC_CHANNEL_CLOSED; 'disconnect' follows and
        // closes the channel, which is the signal callers act on.
      }
    },
    onFrames(listener) {
      frameListeners.push(listener);
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
    close() {
      markClosed('this side closed the budget channel');
    },
    // The parent never unrefs: the child process handle keeps it alive anyway.
    ref: () => (options.side === 'child' ? endpoint.channel?.ref() : undefined),
    unref: () => (options.side === 'child' ? endpoint.channel?.unref() : undefined),
  };
}

/**
 * Frames over a stream socket as line-delimited JSON: each line is one batch (a JSON array).
 * JSON never contains a raw newline, so no escaping is needed.
 */
export function socketChannel<In, Out>(
  socket: Socket,
  options: { describe: string },
): FrameChannel<In, Out> {
  let closed = false;
  let buffered = '';
  const closeListeners: Array<(reason: string) => void> = [];
  const frameListeners: Array<(frames: In[]) => void> = [];

  const markClosed = (reason: string): void => {
    if (closed) return;
    closed = true;
    socket.destroy();
    for (const listener of closeListeners) listener(reason);
  };

  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let start = 0;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      deliver(buffered.slice(start, newline));
      if (closed) return;
      start = newline + 1;
      newline = buffered.indexOf('\n', start);
    }
    if (start > 0) buffered = buffered.slice(start);
    if (buffered.length > MAX_LINE_CHARS) markClosed(`${options.describe} sent an oversized frame`);
  });
  socket.on('error', (error) => markClosed(`${options.describe} failed (${error.message})`));
  socket.on('close', () => markClosed(`${options.describe} closed the connection`));

  function deliver(line: string): void {
    if (line.length === 0) return;
    let frames: unknown;
    try {
      frames = JSON.parse(line);
    } catch {
      markClosed(`${options.describe} sent a malformed frame`);
      return;
    }
    if (!Array.isArray(frames)) return;
    for (const listener of frameListeners) listener(frames as In[]);
  }

  return {
    send(frames) {
      if (!closed && socket.writable) socket.write(`${JSON.stringify(frames)}\n`);
    },
    onFrames(listener) {
      frameListeners.push(listener);
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
    close() {
      markClosed('this side closed the budget channel');
    },
    ref: () => socket.ref(),
    unref: () => socket.unref(),
  };
}
