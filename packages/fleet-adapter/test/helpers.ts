import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';

/** The sub-agent stand-in run in real workers and processes (loads the built dist). */
export const BUDGET_CLIENT = fileURLToPath(
  new URL('./fixtures/budget-client.mjs', import.meta.url),
);

/** A message a fixture reported to the parent. */
export interface Report {
  type: string;
  [field: string]: unknown;
}

/** Resolves with the first message of `type` from a worker or child, or rejects after `timeoutMs`. */
export function nextReport(
  source: Worker | ChildProcess,
  type: string,
  timeoutMs = 15_000,
): Promise<Report> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off('message', onMessage);
      reject(new Error(`no "${type}" report within ${timeoutMs} ms`));
    }, timeoutMs);
    function onMessage(message: unknown): void {
      const report = message as Report;
      if (report?.type === 'error') {
        clearTimeout(timer);
        source.off('message', onMessage);
        reject(new Error(`fixture failed: ${String(report.kind)}: ${String(report.message)}`));
      } else if (report?.type === type) {
        clearTimeout(timer);
        source.off('message', onMessage);
        resolve(report);
      }
    }
    source.on('message', onMessage);
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 5 ms until it holds; rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(5);
  }
}
