import { createReadinessTracker, fleetSessionSource, startDashboard } from '@sluice/readiness';
import { runFleetScenario } from '../fleet/run-fleet-scenario.js';
import { setupRouter } from '../router-setup.js';
import type { Terminal } from '../terminal.js';
import { listenError } from '../listen-error.js';
import { UsageError } from '../usage-error.js';

/** Flags of `sluice dashboard`. */
export interface DashboardFlags {
  port: number;
  host: string;
  token?: string | undefined;
  simulate: boolean;
  config?: string | undefined;
  /** With `--simulate`: keep a fan-out running so the gauges move. */
  children: number;
  json: boolean;
}

/**
 * `sluice dashboard`: the live readiness page on 127.0.0.1 until Ctrl-C. With `--simulate` a
 * simulated fan-out runs in rounds behind it, so every gauge, the chart and the session tree move.
 */
export async function dashboardCommand(
  flags: DashboardFlags,
  term: Terminal,
  env: Record<string, string | undefined>,
  signal: AbortSignal,
): Promise<number> {
  const setup = await setupRouter({
    simulate: flags.simulate,
    configFile: flags.config,
    env,
    command: 'dashboard',
    simulatorOptions: {
      source: 'generate',
      outputTokens: 48,
      tokensPerSecond: 40,
      mode: 'stall',
      stallMs: 4_000,
    },
  });
  const tracker = createReadinessTracker({ router: setup.router });
  let dashboard: Awaited<ReturnType<typeof startDashboard>>;
  try {
    dashboard = await startDashboard({
      tracker,
      port: flags.port,
      host: flags.host,
      ...(flags.token ? { token: flags.token } : {}),
    });
  } catch (error) {
    tracker.close();
    await setup.close();
    throw dashboardStartError(error, flags);
  }
  try {
    if (term.json) term.out(JSON.stringify({ url: dashboard.url }));
    else {
      term.out(`dashboard: ${dashboard.url}`);
      term.out(term.colors.dim(`routes of ${setup.target}; Ctrl-C stops it.`));
    }
    if (flags.simulate) {
      while (!signal.aborted) {
        await runFleetScenario({
          router: setup.router,
          children: flags.children,
          tasks: 3,
          signal,
          onFleet: (fleet) => tracker.setSessions(fleetSessionSource(fleet)),
        });
      }
    } else {
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    return 0;
  } finally {
    await dashboard.close();
    tracker.close();
    await setup.close();
  }
}

/** Turns a failed start into a usage error that names the flag to change. */
function dashboardStartError(error: unknown, flags: DashboardFlags): Error {
  const listen = listenError(error, { port: flags.port, host: flags.host });
  if (listen !== error) return listen as Error;
  const message = error instanceof Error ? error.message : String(error);
  if (/token/i.test(message)) {
    // The library's advice names its API (createDashboardToken()); a CLI user needs the flag.
    const what = message.split(/ (?:Pass a token|Use createDashboardToken\(\))/)[0];
    return new UsageError(
      `${what} Pass --token with at least 16 random characters (for example \`openssl rand -hex 16\`), or bind 127.0.0.1.`,
    );
  }
  return error instanceof Error ? error : new Error(message);
}
