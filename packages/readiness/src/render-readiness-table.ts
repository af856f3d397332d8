import pc from 'picocolors';
import { formatDurationMs } from './decide-route-state.js';
import type { ReadinessSnapshot, ReadinessState, RouteReadiness } from './readiness-schema.js';

/** Options of {@link renderReadinessTable}. */
export interface RenderTableOptions {
  /** Color rows by state (ANSI). The CLI passes false for NO_COLOR and non-TTY output. */
  color: boolean;
  /** Terminal width in columns; long cells are cut and notes wrapped to it. Default 100. */
  width?: number;
}

type Paint = (text: string) => string;

const SYMBOL: Record<ReadinessState, string> = {
  ready: '✓',
  degraded: '!',
  failing: '✗',
  'invalid-route': '✗',
  'missing-credential': '✗',
  'model-not-in-catalog': '?',
  'not-checked': '·',
};

function stateColor(colors: ReturnType<typeof pc.createColors>, state: ReadinessState): Paint {
  switch (state) {
    case 'ready':
      return colors.green;
    case 'degraded':
    case 'model-not-in-catalog':
      return colors.yellow;
    case 'not-checked':
      return colors.dim;
    default:
      return colors.red;
  }
}

function ms(value: number | null): string {
  return value === null ? '-' : formatDurationMs(value);
}

function pair(a: number | null, b: number | null): string {
  return a === null && b === null ? '-' : `${ms(a)} / ${ms(b)}`;
}

function failures(route: RouteReadiness): string {
  const entries = Object.entries(route.recent.failuresByKind).sort((x, y) => y[1] - x[1]);
  if (entries.length === 0) return '-';
  return entries.map(([kind, count]) => `${kind} ${count}`).join(', ');
}

function cells(route: RouteReadiness): string[] {
  const budget = route.budget;
  const inFlight = budget ? `${budget.active}/${budget.limit === 0 ? '∞' : budget.limit}` : '-';
  const adaptive = budget?.adaptive
    ? ` adaptive${budget.adaptive.lastReason ? `: ${budget.adaptive.lastReason}` : ''}`
    : '';
  const cooldown =
    budget && budget.cooldownRemainingMs > 0
      ? ` ⏸${formatDurationMs(budget.cooldownRemainingMs)}`
      : '';
  return [
    `${SYMBOL[route.state]} ${route.state}`,
    `${route.name}${route.isDefault ? ' *' : ''}`,
    route.instance ? `${route.instance} (${route.providerId})` : '-',
    route.model ?? '-',
    `${inFlight}${cooldown}${adaptive}`,
    budget ? String(budget.queued) : '-',
    pair(budget?.leaseWaitP50Ms ?? null, budget?.leaseWaitP95Ms ?? null),
    pair(route.recent.ttftP50Ms, route.recent.ttftP95Ms),
    failures(route),
  ];
}

const HEADERS = [
  'STATE',
  'ROUTE',
  'PROVIDER',
  'MODEL',
  'IN FLIGHT',
  'QUEUED',
  'WAIT p50/p95',
  'TTFT p50/p95',
  'FAILURES',
];

// How the table gives up width when it is too wide, step by step: cut the failures cell, drop
// the lease-wait column, cut model and provider names, then drop more columns; route names are
// cut last. The notes under each row and the JSON output still carry everything.
const FIT_STEPS: Array<['shrink' | 'drop', number]> = [
  ['shrink', 8],
  ['drop', 6],
  ['shrink', 3],
  ['shrink', 2],
  ['drop', 8],
  ['drop', 7],
  ['drop', 5],
  ['shrink', 1],
];
const MIN_WIDTH = 8;

function cut(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

function wrap(text: string, width: number, indent: string): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const next = line === '' ? word : `${line} ${word}`;
    if ([...(indent + next)].length > width && line !== '') {
      lines.push(indent + line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/** Width of each column; 0 for a column dropped to fit `width`. */
function columnWidths(rows: string[][], width: number): number[] {
  const widths = HEADERS.map((header, column) =>
    Math.max([...header].length, ...rows.map((row) => [...(row[column] ?? '')].length)),
  );
  const total = () =>
    widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.filter((w) => w > 0).length - 1);
  const floor = (column: number) =>
    Math.min(widths[column] ?? 0, Math.max(MIN_WIDTH, [...(HEADERS[column] ?? '')].length));

  for (const [step, column] of FIT_STEPS) {
    if (total() <= width) break;
    widths[column] =
      step === 'drop' ? 0 : Math.max(floor(column), (widths[column] ?? 0) - (total() - width));
  }
  return widths;
}

/**
 * Renders a snapshot as a terminal table: one row per route (the default route marked `*`),
 * colored by state when `color` is set, and under every route that is not ready its reason and
 * fix. Returns the text; printing is the caller's job. Contains no secrets (the snapshot has none).
 */
export function renderReadinessTable(
  snapshot: ReadinessSnapshot,
  options: RenderTableOptions,
): string {
  const colors = pc.createColors(options.color);
  const width = options.width ?? 100;
  const rows = snapshot.routes.map(cells);
  const widths = columnWidths(rows, width);
  const line = (row: string[]) =>
    row.flatMap((cell, column) => {
      const w = widths[column] ?? 0;
      return w > 0 ? [pad(cut(cell, w), w)] : [];
    });

  const out: string[] = [colors.bold(line(HEADERS).join('  ').trimEnd())];
  snapshot.routes.forEach((route, index) => {
    const paint = stateColor(colors, route.state);
    const [state = '', ...rest] = line(rows[index] ?? []);
    out.push(`${paint(state)}  ${rest.join('  ')}`.trimEnd());
    if (route.state === 'ready') return;
    out.push(...wrap(route.reason, width, '    ').map((text) => colors.dim(text)));
    if (route.fix) out.push(...wrap(`fix: ${route.fix}`, width, '    ').map((text) => paint(text)));
  });

  for (const provider of snapshot.providers) {
    if (provider.cooldownRemainingMs <= 0) continue;
    out.push(
      colors.yellow(
        `cooldown on ${provider.key}: ${formatDurationMs(provider.cooldownRemainingMs)} left`,
      ),
    );
  }
  if (snapshot.defaultRoute) out.push(colors.dim(`* default route: ${snapshot.defaultRoute}`));
  return out.join('\n');
}
