import Table from 'cli-table3';
import type { FleetReport, SessionProgress } from '../fleet/run-fleet-scenario.js';
import type { Terminal } from '../terminal.js';
import { plural } from './plural.js';

const plain = { head: [], border: [], compact: true };
const colored = { head: ['cyan'], compact: true };

/** Durations: under a second in ms, above in seconds with one decimal, so columns compare. */
function ms(value: number): string {
  if (value >= 1_000) return `${(value / 1000).toFixed(1)} s`;
  return `${Math.round(value)} ms`;
}

function kinds(byKind: FleetReport['failuresByKind']): string {
  const parts = Object.entries(byKind).map(([kind, count]) => `${kind} ${count}`);
  return parts.length === 0 ? '-' : parts.join(', ');
}

/** The per-session table and the overall line of one run. */
export function renderFleetSummary(
  report: FleetReport,
  term: Terminal,
  options: { title?: string; peakInFlightServer?: number | undefined; budget?: string },
): string {
  const c = term.colors;
  // Shown when a request was cancelled (Ctrl-C), so requests = ok + failed + cancelled still adds up.
  const withCancelled = report.sessions.some(({ stats }) => stats.cancelled > 0);
  const table = new Table({
    head: [
      'session',
      'requests',
      'ok',
      'failed',
      ...(withCancelled ? ['cancelled'] : []),
      'retries',
      'lease wait',
      'ttft p50',
      'tokens',
      'failures',
    ],
    style: term.colors.isColorSupported ? colored : plain,
  });
  for (const { name, stats } of report.sessions) {
    table.push([
      name,
      stats.requests,
      stats.succeeded,
      stats.failed > 0 ? c.red(String(stats.failed)) : '0',
      ...(withCancelled ? [stats.cancelled > 0 ? c.yellow(String(stats.cancelled)) : '0'] : []),
      stats.retries,
      ms(stats.leaseWait.sumMs),
      stats.timeToFirstToken.count > 0 ? ms(stats.timeToFirstToken.p50Ms) : '-',
      stats.tokens.completion,
      kinds(stats.failuresByKind),
    ]);
  }

  const peak = options.peakInFlightServer ?? report.peakInFlightClient;
  const peakSource = options.peakInFlightServer === undefined ? 'client' : 'server';
  const verdict =
    report.failures === 0 ? c.green('no failures') : c.red(`${report.failures} failed`);
  const title = options.title
    ? [c.bold(options.title) + (options.budget ? c.dim(` (${options.budget})`) : '')]
    : [];
  return [
    ...title,
    table.toString(),
    `peak in flight ${peak} (${peakSource}), makespan ${ms(report.makespanMs)}, ` +
      `${plural(report.requests, 'request')}, ${plural(report.retries, 'retry', 'retries')}, ` +
      `${plural(report.headerStalls, 'header stall')}, ${verdict}` +
      (report.cancelled ? c.yellow(' (cancelled: partial summary)') : ''),
    ...firstErrors(report, term),
  ].join('\n');
}

/** One line per failure kind with the first error of that kind: why the requests failed. */
function firstErrors(report: FleetReport, term: Terminal): string[] {
  return Object.entries(report.firstErrorByKind).map(
    ([kind, message]) => `${term.colors.red(`first ${kind} error:`)} ${message}`,
  );
}

/** One comparison row per figure, one column per run: the demo's side-by-side view. */
export function renderComparison(
  runs: Array<{ label: string; report: FleetReport; peakInFlightServer?: number | undefined }>,
  term: Terminal,
): string {
  const table = new Table({
    head: ['', ...runs.map((run) => run.label)],
    style: term.colors.isColorSupported ? colored : plain,
  });
  const row = (label: string, pick: (run: (typeof runs)[number]) => string | number) =>
    table.push([label, ...runs.map((run) => String(pick(run)))]);
  row('requests', (r) => r.report.requests);
  row('failed after retries', (r) => r.report.failures);
  row('failures by kind', (r) => kinds(r.report.failuresByKind));
  row('retries', (r) => r.report.retries);
  row('header stalls', (r) => r.report.headerStalls);
  row('peak in flight at the server', (r) => r.peakInFlightServer ?? '-');
  row('peak leases at the client', (r) => r.report.peakInFlightClient);
  row('makespan', (r) => ms(r.report.makespanMs));
  return table.toString();
}

const STATE_COLORS: Record<SessionProgress['state'], (s: string) => string> = {
  idle: (s) => s,
  queued: (s) => s,
  sending: (s) => s,
  streaming: (s) => s,
  backoff: (s) => s,
  tool: (s) => s,
  done: (s) => s,
  cancelled: (s) => s,
};

/** The live view: one line per session, redrawn in place on a TTY. */
export function renderProgress(rows: readonly SessionProgress[], term: Terminal): string {
  const c = term.colors;
  const color: typeof STATE_COLORS = {
    ...STATE_COLORS,
    queued: c.yellow,
    sending: c.cyan,
    streaming: c.green,
    backoff: c.red,
    tool: c.dim,
    done: c.dim,
    cancelled: c.yellow,
  };
  const width = Math.max(...rows.map((row) => row.name.length), 7);
  return rows
    .map((row) => {
      const state = color[row.state](row.state.padEnd(9));
      const retries = row.retries > 0 ? c.red(` retries ${row.retries}`) : '';
      const failures = row.failures > 0 ? c.red(` failed ${row.failures}`) : '';
      return `${row.name.padEnd(width)}  ${state}  turn ${row.turn}/${row.turns}  tokens ${String(row.tokens).padStart(5)}${retries}${failures}`;
    })
    .join('\n');
}
