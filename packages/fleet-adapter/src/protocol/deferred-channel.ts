import type { FrameChannel } from './budget-protocol.js';

/** A channel whose transport arrives later (a worker's port comes in a message after start-up). */
export interface DeferredChannel<In, Out> {
  readonly channel: FrameChannel<In, Out>;
  /** Plugs in the real transport; batches sent so far go out in order. */
  connect(real: FrameChannel<In, Out>): void;
}

/**
 * Queues what is sent before the transport exists, and remembers ref/unref, so the budget client
 * can be created synchronously (as `attachBudget()` must be) and used at once.
 */
export function deferredChannel<In, Out>(options: {
  onClose?: () => void;
}): DeferredChannel<In, Out> {
  let real: FrameChannel<In, Out> | undefined;
  let closedReason: string | undefined;
  let wantsRef = false;
  const queued: Out[][] = [];
  const frameListeners: Array<(frames: In[]) => void> = [];
  const closeListeners: Array<(reason: string) => void> = [];

  const markClosed = (reason: string): void => {
    if (closedReason !== undefined) return;
    closedReason = reason;
    options.onClose?.();
    for (const listener of closeListeners) listener(reason);
  };

  return {
    channel: {
      send(frames) {
        if (closedReason !== undefined) return;
        if (real) real.send(frames);
        else queued.push(frames);
      },
      onFrames(listener) {
        frameListeners.push(listener);
      },
      onClose(listener) {
        closeListeners.push(listener);
      },
      close() {
        if (real) real.close();
        else markClosed('this side closed the budget channel');
      },
      ref() {
        wantsRef = true;
        real?.ref();
      },
      unref() {
        wantsRef = false;
        real?.unref();
      },
    },
    connect(transport) {
      if (real || closedReason !== undefined) {
        transport.close();
        return;
      }
      real = transport;
      transport.onFrames((frames) => {
        for (const listener of frameListeners) listener(frames);
      });
      transport.onClose(markClosed);
      if (wantsRef) transport.ref();
      else transport.unref();
      for (const frames of queued.splice(0)) transport.send(frames);
    },
  };
}
