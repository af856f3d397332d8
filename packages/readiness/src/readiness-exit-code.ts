import type { ReadinessSnapshot, ReadinessState } from './readiness-schema.js';

/**
 * Exit codes of `sluice check`, by the state of the default route. 2 is left to the CLI for bad
 * flags and bad config files.
 */
export const READINESS_EXIT_CODES: Readonly<Record<ReadinessState, number>> = {
  ready: 0,
  'invalid-route': 1,
  'missing-credential': 1,
  failing: 1,
  degraded: 3,
  'model-not-in-catalog': 3,
  'not-checked': 3,
};

/**
 * The process exit code for a snapshot: 0 when the default route is ready, 1 when it cannot
 * work (invalid route, missing credential, failing), 3 when it may work but is not known to
 * (degraded, model not in catalog, not checked: run with a probe to find out). A snapshot with
 * no default route at all gives 1.
 */
export function readinessExitCode(snapshot: ReadinessSnapshot): number {
  const route = snapshot.routes.find((candidate) => candidate.name === snapshot.defaultRoute);
  return route ? READINESS_EXIT_CODES[route.state] : 1;
}
