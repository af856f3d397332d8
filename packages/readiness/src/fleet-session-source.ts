import type { ReadinessSession } from './readiness-schema.js';
import type { SessionSource } from './readiness-tracker.js';

/**
 * The part of a fleet session (`@sluice/fleet-adapter`'s `Session`) readiness reads. Typed by
 * shape, so readiness does not depend on the fleet package: any session tree with these members
 * can be shown.
 */
export interface FleetSessionLike {
  readonly id: string;
  readonly name: string;
  readonly priority?: number;
  readonly children: readonly FleetSessionLike[];
  stats(): {
    requests: number;
    inFlight: number;
    failed: number;
    tokens?: { total: number };
    leaseWait?: { p50Ms: number };
  };
}

/** The part of a fleet readiness reads: its root session. */
export interface FleetLike {
  readonly root: FleetSessionLike;
}

/** A fleet session and its descendants as a {@link ReadinessSession} tree, figures as of now. */
export function sessionTreeOf(session: FleetSessionLike): ReadinessSession {
  const stats = session.stats();
  return {
    id: session.id,
    name: session.name,
    state: stats.inFlight > 0 ? 'active' : stats.requests > 0 ? 'idle' : 'new',
    ...(session.priority === undefined ? {} : { priority: session.priority }),
    requests: stats.requests,
    inFlight: stats.inFlight,
    failures: stats.failed,
    ...(stats.tokens ? { tokens: stats.tokens.total } : {}),
    ...(stats.leaseWait ? { leaseWaitMs: stats.leaseWait.p50Ms } : {}),
    children: session.children.map(sessionTreeOf),
  };
}

/**
 * A {@link SessionSource} for a running fleet: pass it as the tracker's `sessions` option, or to
 * `tracker.setSessions()` when the fleet starts, and the dashboard shows the live session tree.
 */
export function fleetSessionSource(fleet: FleetLike): SessionSource {
  return () => sessionTreeOf(fleet.root);
}
