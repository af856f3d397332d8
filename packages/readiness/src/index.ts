/**
 * @sluice/readiness: which routes will work right now, and how loaded each provider is. Route
 * config, catalog and live router telemetry projected into one snapshot, shown as a terminal
 * table, as JSON of a published schema, as Prometheus metrics and as a live web dashboard.
 */

/** Package version, kept in step with package.json. */
export const VERSION = '0.1.0';

export * from './readiness-schema.js';
export {
  DEFAULT_THRESHOLDS,
  decideRouteState,
  formatDurationMs,
  type RouteProblem,
  type StateInput,
  type StateThresholds,
  type StateVerdict,
} from './decide-route-state.js';
export {
  LOAD_KINDS,
  createOutcomeLog,
  percentile,
  percentiles,
  type BudgetLog,
  type FailedAttempt,
  type FinishedRequest,
  type OutcomeLog,
  type OutcomeLogOptions,
  type RecordedError,
  type RouteLog,
} from './outcome-log.js';
export {
  buildSnapshot,
  gaugeOf,
  projectReadiness,
  routesOf,
  sampleHistory,
  type BudgetSource,
  type ProjectReadinessInput,
  type ProjectionOptions,
  type SnapshotInput,
} from './project-readiness.js';
export {
  createReadinessTracker,
  type ReadinessTracker,
  type ReadinessTrackerOptions,
  type SessionSource,
  type TrackedRouter,
} from './readiness-tracker.js';
export { PROBE_REQUEST, probeRoutes, type ProbeOptions, type ProbeResult } from './probe-routes.js';
export { redactDeep, redactEndpoint } from './redact-endpoint.js';
export { renderReadinessTable, type RenderTableOptions } from './render-readiness-table.js';
export { READINESS_EXIT_CODES, readinessExitCode } from './readiness-exit-code.js';
export { toReadinessJSON } from './to-readiness-json.js';
export {
  createReadinessMetrics,
  type ReadinessMetrics,
  type ReadinessMetricsOptions,
} from './readiness-metrics.js';
export { renderDashboardPage, type DashboardPageOptions } from './dashboard-page.js';
export {
  createDashboardToken,
  isLoopbackHost,
  MIN_PUSH_GAP_MS,
  startDashboard,
  type Dashboard,
  type DashboardOptions,
} from './start-dashboard.js';
export {
  resolveReadinessRoutes,
  type ConfigRoutesSource,
  type ReadinessRoutes,
} from './resolve-readiness-routes.js';
export {
  fleetSessionSource,
  sessionTreeOf,
  type FleetLike,
  type FleetSessionLike,
} from './fleet-session-source.js';
