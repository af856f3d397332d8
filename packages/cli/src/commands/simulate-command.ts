import { describeSimulator, startSimulator, type SimulatorMode } from '@sluice/simulator';
import { plural } from '../render/plural.js';
import { listenError } from '../listen-error.js';
import type { Terminal } from '../terminal.js';

/** Flags of `sluice simulate`. */
export interface SimulateFlags {
  ceiling: number;
  mode: SimulatorMode;
  port: number;
  stallMs: number;
  json: boolean;
}

/**
 * `sluice simulate`: the simulator on its own, until Ctrl-C, so any OpenAI-compatible client can be
 * pointed at it. Prints its URL (or, with `--json`, its description as one JSON line).
 */
export async function simulateCommand(
  flags: SimulateFlags,
  term: Terminal,
  signal: AbortSignal,
): Promise<number> {
  const simulator = await startSimulator({
    ceiling: flags.ceiling,
    mode: flags.mode,
    port: flags.port,
    stallMs: flags.stallMs,
  }).catch((error: unknown) => {
    throw listenError(error, { port: flags.port });
  });
  const description = describeSimulator(simulator);
  if (term.json) term.out(JSON.stringify(description));
  else {
    for (const line of description.lines) term.out(line);
    term.out(term.colors.dim('Ctrl-C stops it.'));
  }

  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const stats = simulator.stats();
  await simulator.close();
  if (!term.json) {
    term.out(
      `served ${stats.completed} of ${plural(stats.requests, 'request')}, peak in flight ${stats.peakInFlight}`,
    );
  }
  return 0;
}
