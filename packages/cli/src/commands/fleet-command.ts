import { createReadinessTracker, fleetSessionSource, startDashboard } from '@sluice/readiness';
import {
  runFleetScenario,
  type FleetReport,
  type SessionProgress,
} from '../fleet/run-fleet-scenario.js';
import { configLine, withConfigFile } from '../config-file.js';
import { renderFleetSummary, renderProgress } from '../render/fleet-summary.js';
import { plural } from '../render/plural.js';
import { setupRouter } from '../router-setup.js';
import type { Terminal } from '../terminal.js';

/** Flags of `sluice fleet`. */
export interface FleetFlags {
  children: number;
  tasks: number;
  simulate: boolean;
  config?: string | undefined;
  route?: string | undefined;
  delegate: boolean;
  dashboard: boolean;
  json: boolean;
}

/**
 * Draws live progress while a run goes on: redrawn in place on a TTY (throttled to 10 frames a
 * second), nothing at all otherwise, so pipes and `--json` get only the final output.
 *
 * log-update is ESM only, so it is imported when a live view is made: `require('@sluice/cli')`
 * then works on a Node 20 without require() of ES modules (before 20.19).
 */
export function createProgressView(term: Terminal) {
  if (!term.live) return { update: (_rows: readonly SessionProgress[]) => {}, done: () => {} };
  let log: (((text: string) => void) & { clear(): void }) | undefined;
  let ended = false;
  void import('log-update').then(({ createLogUpdate }) => {
    if (!ended) log = createLogUpdate(term.stdout as NodeJS.WriteStream);
  });
  let last: readonly SessionProgress[] = [];
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    timer = undefined;
    log?.(renderProgress(last, term));
  };
  return {
    update(rows: readonly SessionProgress[]) {
      last = rows.map((row) => ({ ...row }));
      timer ??= setTimeout(draw, 100);
    },
    done() {
      ended = true;
      if (timer) clearTimeout(timer);
      if (last.length > 0) draw();
      log?.clear();
    },
  };
}

/** JSON form of a run, for `--json`: plain numbers, no secrets. */
export function reportToJSON(report: FleetReport, extra: Record<string, unknown> = {}) {
  return {
    ...extra,
    makespanMs: Math.round(report.makespanMs),
    requests: report.requests,
    failures: report.failures,
    failuresByKind: report.failuresByKind,
    firstErrorByKind: report.firstErrorByKind,
    retries: report.retries,
    headerStalls: report.headerStalls,
    peakInFlightClient: report.peakInFlightClient,
    cancelled: report.cancelled,
    sessions: report.sessions.map(({ name, stats }) => ({ name, ...stats })),
  };
}

async function openDashboard(
  router: Parameters<typeof createReadinessTracker>[0]['router'] & object,
  term: Terminal,
) {
  const tracker = createReadinessTracker({ router });
  const dashboard = await startDashboard({ tracker });
  if (!term.json) term.out(`dashboard: ${dashboard.url}`);
  return {
    tracker,
    close: async () => {
      await dashboard.close();
      tracker.close();
    },
  };
}

/** `sluice fleet`: a parent and N sub-agents streaming at once from one route, sharing one budget. */
export async function fleetCommand(
  flags: FleetFlags,
  term: Terminal,
  env: Record<string, string | undefined>,
  signal: AbortSignal,
): Promise<number> {
  const setup = await setupRouter({
    simulate: flags.simulate,
    configFile: flags.config,
    env,
    command: 'fleet',
    // Delegation needs tool calls, which the simulator serves from recorded GLM traffic.
    simulatorOptions: flags.delegate
      ? { source: 'recorded', tokensPerSecond: 400 }
      : { source: 'generate', outputTokens: 48, tokensPerSecond: 60 },
  });
  try {
    const route = setup.router.route(flags.route);
    if (!term.json) {
      term.out(
        term.colors.dim(
          `fleet: 1 parent + ${plural(flags.children, 'sub-agent')} x ${plural(flags.tasks, 'turn')} on route ` +
            `${route.name} -> ${setup.target}, budget ${route.maxConcurrency || 'uncapped'}`,
        ),
      );
    }
    const live = flags.dashboard ? await openDashboard(setup.router, term) : undefined;
    const view = createProgressView(term);
    const report = await runFleetScenario({
      onFleet: (fleet) => live?.tracker.setSessions(fleetSessionSource(fleet)),
      router: setup.router,
      route: route.name,
      children: flags.children,
      tasks: flags.tasks,
      delegate: flags.delegate,
      signal,
      onProgress: view.update,
    });
    view.done();

    const peakInFlightServer = setup.simulator?.stats().peakInFlight;
    if (term.json) {
      term.out(
        JSON.stringify(
          reportToJSON(report, { route: route.name, config: setup.configFile, peakInFlightServer }),
          null,
          2,
        ),
      );
    } else {
      term.out(
        renderFleetSummary(report, term, {
          title: 'summary',
          peakInFlightServer,
          budget: `budget ${route.maxConcurrency || 'uncapped'}`,
        }),
      );
      // Under the first errors, the config file the routes came from: the file to fix.
      if (report.failures > 0 && setup.configFile !== undefined) {
        term.out(configLine(setup.configFile));
      }
    }
    await live?.close();
    if (report.cancelled) return 130;
    return report.failures > 0 ? 1 : 0;
  } catch (error) {
    throw withConfigFile(error, setup.configFile);
  } finally {
    await setup.close();
  }
}
