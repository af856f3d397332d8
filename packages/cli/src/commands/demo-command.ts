import { startSimulator } from '@sluice/simulator';
import zhipu from '@sluice/provider-zhipu';
import { runFleetScenario, type FleetReport } from '../fleet/run-fleet-scenario.js';
import { renderComparison, renderFleetSummary } from '../render/fleet-summary.js';
import { plural } from '../render/plural.js';
import { setupRouter } from '../router-setup.js';
import type { Terminal } from '../terminal.js';
import { createProgressView, reportToJSON } from './fleet-command.js';

/** Flags of `sluice demo`. */
export interface DemoFlags {
  children: number;
  tasks: number;
  json: boolean;
}

/**
 * The GLM fan-out, scaled down in time so it runs in seconds: the simulator serves 3 streams at
 * once (advertised 10) and holds the headers of the rest for 4 s, as GLM holds them for 45 s; the
 * client's headers deadline is 2.5 s (45 s in production) and it retries 3 times.
 */
export const DEMO_SIMULATOR = {
  ceiling: 3,
  advertised: 10,
  mode: 'stall',
  stallMs: 4_000,
  source: 'generate',
  outputTokens: 48,
  tokensPerSecond: 60,
} as const;

/** The client settings both runs share; only the cap differs. */
export const DEMO_INSTANCE = {
  timeouts: { headersMs: 2_500 },
  retry: { maxAttempts: 2, baseDelayMs: 300, maxDelayMs: 1_500 },
};

interface DemoRun {
  label: string;
  budget: string;
  report: FleetReport;
  peakInFlightServer: number;
}

/**
 * `sluice demo` (`npm run demo`): the same fan-out twice on one simulator, first with no
 * client-side cap (what agents do today), then with the zhipu descriptor's shared budget. Prints
 * both summaries and a side-by-side table; exits 1 if the budgeted run had any failure.
 */
export async function demoCommand(
  flags: DemoFlags,
  term: Terminal,
  env: Record<string, string | undefined>,
  signal: AbortSignal,
): Promise<number> {
  const simulator = await startSimulator(DEMO_SIMULATOR);
  const c = term.colors;
  try {
    if (!term.json) {
      term.out(
        c.bold('Sluice demo: ') +
          `1 parent + ${plural(flags.children, 'sub-agent')} x ${plural(flags.tasks, 'turn')}, streaming from a simulated GLM ` +
          `Coding Plan at ${simulator.baseURL}`,
      );
      term.out(
        c.dim(
          `simulator: serves ${DEMO_SIMULATOR.ceiling} streams at once (advertises ${DEMO_SIMULATOR.advertised}); ` +
            `past that it sends no headers for ${DEMO_SIMULATOR.stallMs / 1000} s, then 429 code 1302. ` +
            `Client: headers deadline ${DEMO_INSTANCE.timeouts.headersMs / 1000} s, ${DEMO_INSTANCE.retry.maxAttempts} attempts. ` +
            `(Times scaled down ~15x from GLM's 45 s stalls.)`,
        ),
      );
    }

    const runs: DemoRun[] = [];
    const plans = [
      { label: 'no client cap', budget: 'maxConcurrency 0: every sub-agent sends at will', cap: 0 },
      {
        label: 'shared budget',
        budget: `maxConcurrency ${zhipu.maxConcurrency} from @sluice/provider-zhipu, one budget for the fleet`,
        cap: undefined,
      },
    ];
    for (const plan of plans) {
      if (signal.aborted) break;
      simulator.resetStats();
      if (!term.json) term.out(`\n${c.bold(plan.label)} ${c.dim(`(${plan.budget})`)}`);
      const setup = await setupRouter({
        simulate: true,
        simulator,
        env,
        command: 'demo',
        instance: {
          ...DEMO_INSTANCE,
          ...(plan.cap === undefined ? {} : { maxConcurrency: plan.cap }),
        },
      });
      const view = createProgressView(term);
      try {
        const report = await runFleetScenario({
          router: setup.router,
          children: flags.children,
          tasks: flags.tasks,
          signal,
          onProgress: view.update,
        });
        view.done();
        const run = { ...plan, report, peakInFlightServer: simulator.stats().peakInFlight };
        runs.push(run);
        if (!term.json)
          term.out(
            renderFleetSummary(report, term, {
              peakInFlightServer: run.peakInFlightServer,
            }),
          );
      } finally {
        view.done();
        await setup.close();
      }
    }

    const budgeted = runs.find((run) => run.label === 'shared budget');
    if (term.json) {
      term.out(
        JSON.stringify(
          {
            simulator: DEMO_SIMULATOR,
            runs: runs.map((run) =>
              reportToJSON(run.report, {
                label: run.label,
                budget: run.budget,
                peakInFlightServer: run.peakInFlightServer,
              }),
            ),
          },
          null,
          2,
        ),
      );
    } else {
      term.out(`\n${c.bold('side by side')}`);
      term.out(renderComparison(runs, term));
      if (budgeted) {
        term.out(
          budgeted.report.failures === 0
            ? c.green(
                `shared budget: no failures, peak in flight at the server ${budgeted.peakInFlightServer} ` +
                  `(budget ${zhipu.maxConcurrency}, ceiling ${DEMO_SIMULATOR.ceiling}).`,
              )
            : c.red(`shared budget: ${plural(budgeted.report.failures, 'request')} failed.`),
        );
      }
    }
    if (signal.aborted) return 130;
    return budgeted && budgeted.report.failures === 0 ? 0 : 1;
  } finally {
    await simulator.close();
  }
}
