import { SluiceError } from '@sluice/core';
import type { Budget, BudgetRegistry, Lease, SluiceEvent } from '@sluice/core';

import {
  BUDGET_PROTOCOL_VERSION,
  FrameBatcher,
  toWireError,
  type ClientFrame,
  type FrameChannel,
  type ServerFrame,
  type WireBudgetState,
} from '../protocol/budget-protocol.js';

/** The session a connection's leases count against (a spawned worker or child process). */
export interface BoundSession {
  id: string;
  priority: number;
  /** The session's weight in the budget's round-robin; default 1. */
  share?: number;
}

/** Options of {@link BudgetServer.accept}. */
export interface AcceptOptions {
  /**
   * Binds the connection to a session of the parent's fleet: every acquire of the connection is
   * queued as that session, at no higher priority than the session's, so a worker is one
   * participant of the parent's fair queue however many sessions it runs inside.
   */
  session?: BoundSession;
  /** Names the peer in events: `worker 3`, `pid 4121`, `socket client 2`. */
  label?: string;
}

/** What a connection freed when it went away. */
export interface ConnectionClosedEvent {
  connection: BudgetConnection;
  reason: string;
  /** Leases the peer still held, released at once. */
  leasesFreed: number;
  /** Acquires the peer was still waiting on, withdrawn from the queue. */
  waitersCancelled: number;
}

/** A lease granted to a connection, for accounting. */
export interface RemoteLeaseEvent {
  connection: BudgetConnection;
  key: string;
  sessionId: string | undefined;
  waitedMs: number;
}

/** Router telemetry a peer forwarded (see `AttachedBudget.forwardEvents`). */
export interface RemoteRouterEvent {
  connection: BudgetConnection;
  /** The bound session's id; undefined for an unbound peer. */
  sessionId: string | undefined;
  event: SluiceEvent;
}

/** One peer of a {@link BudgetServer}. */
export interface BudgetConnection {
  readonly id: number;
  readonly label: string;
  readonly session: BoundSession | undefined;
  /** Leases the peer holds now. */
  readonly leases: number;
  /** Acquires of the peer waiting in the owner's queue now. */
  readonly waiting: number;
  readonly isClosed: boolean;
  /** True once {@link cancel} was called: for good, the peer gets no new lease. */
  readonly isCancelled: boolean;
  /** True once the peer forwards its router events (its grants are then counted from those). */
  readonly forwardsEvents: boolean;
  /** Resolves once the connection has closed and freed what it held. */
  readonly closed: Promise<ConnectionClosedEvent>;
  /**
   * Withdraws the peer's waiting acquires (they reject with `aborted`) and tells the peer its
   * session was cancelled, so it can abort the requests holding leases. Held leases stay held
   * until the peer's requests end: revoking them would let the provider see more streams than
   * the limit.
   *
   * Permanent: every later acquire of the peer is rejected at once with an `aborted` SluiceError
   * naming `reason`, without taking a lease, and a peer that says hello again is told again.
   * Calling it again changes nothing.
   */
  cancel(reason: string): void;
  /** Closes the channel; held leases are released and waiters withdrawn. */
  close(reason?: string): void;
}

/** Options of {@link createBudgetServer}. */
export interface BudgetServerOptions {
  /** Called for every lease granted to a peer. */
  onLease?: (event: RemoteLeaseEvent) => void;
  /** Called for every router event a peer forwards. */
  onRouterEvent?: (event: RemoteRouterEvent) => void;
  /** Called when a peer goes away, after its leases were freed. */
  onConnectionClosed?: (event: ConnectionClosedEvent) => void;
}

/**
 * The owner's side of the budget protocol: serves budgets of `registry` to peers over any
 * {@link FrameChannel}. Transports (worker ports, IPC, the socket broker) only call `accept`.
 */
export interface BudgetServer {
  readonly registry: BudgetRegistry;
  accept(
    channel: FrameChannel<ClientFrame, ServerFrame>,
    options?: AcceptOptions,
  ): BudgetConnection;
  readonly connections: ReadonlySet<BudgetConnection>;
  /** Closes every connection. Peers see `budget-unavailable` on their next acquire. */
  close(reason?: string): void;
}

/**
 * Creates the owner's side of the budget protocol over `registry` (usually the registry of the
 * parent's router, so in-process sessions and remote peers share the same budget objects).
 */
export function createBudgetServer(
  registry: BudgetRegistry,
  options: BudgetServerOptions = {},
): BudgetServer {
  const connections = new Set<BudgetConnection>();
  let nextConnectionId = 1;

  return {
    registry,
    connections,
    accept(channel, acceptOptions = {}) {
      const id = nextConnectionId++;
      const connection = openConnection({
        id,
        channel,
        registry,
        label: acceptOptions.label ?? `peer ${id}`,
        session: acceptOptions.session,
        onLease: options.onLease,
        onRouterEvent: options.onRouterEvent,
      });
      connections.add(connection);
      void connection.closed.then((event) => {
        connections.delete(connection);
        options.onConnectionClosed?.(event);
      });
      return connection;
    },
    close(reason = 'the budget owner closed the server') {
      for (const connection of [...connections]) connection.close(reason);
    },
  };
}

interface ConnectionSetup {
  id: number;
  channel: FrameChannel<ClientFrame, ServerFrame>;
  registry: BudgetRegistry;
  label: string;
  session: BoundSession | undefined;
  onLease: ((event: RemoteLeaseEvent) => void) | undefined;
  onRouterEvent: ((event: RemoteRouterEvent) => void) | undefined;
}

/** The owner-side options shared by the acquires of one frame. */
interface OwnerAcquire {
  key: string;
  budget: Budget;
  priority: number;
  sessionId: string;
  /** The bound session's share; peers that are no session get share 1. */
  share: number | undefined;
  timeoutMs: number | undefined;
}

function openConnection(setup: ConnectionSetup): BudgetConnection {
  const { channel, registry, session } = setup;
  const budgets = new Map<string, Budget>();
  const unsubscribes: Array<() => void> = [];
  // Acquire id -> its abort controller, or null for an acquire expected to be granted at once.
  const waiting = new Map<number, AbortController | null>();
  // Acquire id -> the lease it holds. The client names leases by acquire id.
  const held = new Map<number, Lease>();
  const dirtyKeys = new Set<string>();
  let grantedIds: number[] = [];
  let isClosed = false;
  // Set by cancel(), for good: what every later acquire of the peer is rejected with.
  let cancelled: { reason: string; error: SluiceError } | undefined;
  let forwardsEvents = false;
  let resolveClosed!: (event: ConnectionClosedEvent) => void;
  const closed = new Promise<ConnectionClosedEvent>((resolve) => (resolveClosed = resolve));

  const batcher = new FrameBatcher<ServerFrame>(
    (frames) => channel.send(frames),
    (frames) => {
      if (grantedIds.length > 0) {
        frames.push(['granted', ...grantedIds]);
        grantedIds = [];
      }
      for (const key of dirtyKeys) {
        const budget = budgets.get(key);
        if (budget) {
          frames.push([
            'state',
            key,
            budget.limit,
            budget.active,
            budget.pending,
            budget.cooldownUntil,
          ]);
        }
      }
      dirtyKeys.clear();
    },
  );

  const connection: BudgetConnection = {
    id: setup.id,
    label: setup.label,
    session,
    get leases() {
      return held.size;
    },
    get waiting() {
      return waiting.size;
    },
    get isClosed() {
      return isClosed;
    },
    get isCancelled() {
      return cancelled !== undefined;
    },
    get forwardsEvents() {
      return forwardsEvents;
    },
    closed,
    cancel(reason) {
      if (isClosed || cancelled) return;
      cancelled = {
        reason,
        error: new SluiceError({
          kind: 'aborted',
          phase: 'queue',
          message: `The budget owner cancelled ${setup.label}: ${reason}; a cancelled session gets no new leases.`,
          hint: 'A cancel is permanent: start a new session for new work.',
        }),
      };
      // Withdrawn from the queue; one expected to be granted at once (no controller) is
      // rejected when its grant comes back (see acquire).
      for (const controller of [...waiting.values()]) controller?.abort(cancelled.error);
      batcher.push(['cancelled', reason]);
    },
    close(reason = 'the budget owner closed the connection') {
      shutDown(reason);
      channel.close();
    },
  };

  // Opening subscribes the connection to the budget's changes, so the peer's view of active,
  // pending and cooldown stays at most one event-loop turn behind.
  function budgetOf(key: string, limit: number): Budget {
    const existing = budgets.get(key);
    if (existing) return existing;
    const budget = registry.get(key, { limit });
    budgets.set(key, budget);
    const markDirty = (): void => {
      dirtyKeys.add(key);
      batcher.schedule();
    };
    unsubscribes.push(
      budget.on('acquired', markDirty),
      budget.on('released', markDirty),
      budget.on('queued', markDirty),
      budget.on('rejected', markDirty),
      budget.on('resized', (event) => {
        batcher.push(['resized', key, event.limit, event.previous]);
        markDirty();
      }),
      budget.on('cooldown', (event) => {
        batcher.push(['cooldown', key, event.untilMs, event.reason]);
        markDirty();
      }),
    );
    markDirty();
    return budget;
  }

  function acquireAll(frame: Extract<ClientFrame, { 0: 'acquire' }>): void {
    const [, key, limit, requestedPriority, requestedSession, timeoutMs] = frame;
    const budget = budgetOf(key, limit);
    const requested = requestedPriority ?? session?.priority ?? 0;
    const request: OwnerAcquire = {
      key,
      budget,
      priority: session ? Math.min(requested, session.priority) : requested,
      sessionId: session
        ? session.id
        : `${setup.label}${requestedSession == null ? '' : `/${requestedSession}`}`,
      share: session?.share,
      timeoutMs: timeoutMs ?? undefined,
    };
    for (let index = 6; index < frame.length; index++) acquire(frame[index] as number, request);
  }

  function acquire(id: number, request: OwnerAcquire): void {
    const { key, budget, priority, sessionId, share, timeoutMs } = request;
    if (cancelled) {
      // A cancelled session takes nothing new: refused before it reaches the budget.
      batcher.push(['rejected', id, toWireError(cancelled.error)]);
      return;
    }

    // An abort controller per acquire costs more than the rest of the grant; an acquire that
    // finds a free lease and nobody waiting is granted without queueing, so it needs none. If
    // that guess is wrong (a budget owned further away), a withdrawn acquire is released the
    // moment it is granted instead of being dequeued.
    const controller = grantsAtOnce(budget) ? null : new AbortController();
    waiting.set(id, controller);

    budget
      .acquire({
        signal: controller?.signal,
        priority,
        session: sessionId,
        ...(share === undefined ? {} : { share }),
        timeoutMs,
        onQueued: () => batcher.push(['queued', id]),
      })
      .then(
        (lease) => {
          // The peer withdrew or went away while the grant was in flight: give it straight back.
          if (!waiting.delete(id) || isClosed) {
            lease.release();
            return;
          }
          if (cancelled) {
            lease.release();
            batcher.push(['rejected', id, toWireError(cancelled.error)]);
            return;
          }
          held.set(id, lease);
          grantedIds.push(id);
          batcher.schedule();
          setup.onLease?.({ connection, key, sessionId, waitedMs: lease.waitedMs });
        },
        (error: unknown) => {
          if (!waiting.delete(id) || isClosed) return;
          batcher.push(['rejected', id, toWireError(error)]);
        },
      );
  }

  function release(id: number): void {
    const lease = held.get(id);
    if (!lease) return;
    held.delete(id);
    lease.release();
  }

  function cancel(id: number): void {
    if (waiting.has(id)) {
      const controller = waiting.get(id);
      waiting.delete(id);
      controller?.abort(
        new SluiceError({
          kind: 'aborted',
          phase: 'queue',
          message: 'The peer withdrew its acquire.',
        }),
      );
      return;
    }
    release(id);
  }

  function handle(frame: ClientFrame): void {
    switch (frame[0]) {
      case 'hello': {
        const version = frame[1];
        if (version !== BUDGET_PROTOCOL_VERSION) {
          batcher.push([
            'refused',
            {
              kind: 'budget-unavailable',
              message: `The budget owner speaks protocol v${BUDGET_PROTOCOL_VERSION}, the peer v${String(version)}.`,
              hint: 'Install the same @sluice/fleet-adapter version in the parent and its workers.',
            },
          ]);
          return;
        }
        batcher.push(['welcome', BUDGET_PROTOCOL_VERSION, session ?? null]);
        // A peer attaching again (a new attachBudget() on the same channel) learns it too.
        if (cancelled) batcher.push(['cancelled', cancelled.reason]);
        return;
      }
      case 'open':
        budgetOf(frame[1], frame[2]);
        return;
      case 'acquire':
        acquireAll(frame);
        return;
      case 'release':
        for (let index = 1; index < frame.length; index++) release(frame[index] as number);
        return;
      case 'cancel':
        cancel(frame[1]);
        return;
      case 'resize':
        budgets.get(frame[1])?.resize(frame[2]);
        return;
      case 'cooldown':
        budgets.get(frame[1])?.cooldown(frame[2], frame[3]);
        return;
      case 'stats':
        batcher.push(['stats', frame[1], registry.list().map(stateOf)]);
        return;
      case 'events':
        forwardsEvents = true;
        for (let index = 1; index < frame.length; index++) {
          const event = frame[index] as SluiceEvent;
          setup.onRouterEvent?.({ connection, sessionId: session?.id, event });
        }
        return;
      default:
        throw new Error(`unknown op ${JSON.stringify((frame as unknown[])[0])}`);
    }
  }

  function shutDown(reason: string): void {
    if (isClosed) return;
    isClosed = true;
    const leasesFreed = held.size;
    const waitersCancelled = waiting.size;

    // Freed synchronously, so a killed child's leases go to the next waiters in this same turn.
    for (const lease of held.values()) lease.release();
    held.clear();
    const abortReason = new SluiceError({
      kind: 'budget-unavailable',
      phase: 'queue',
      message: `The budget peer ${setup.label} went away: ${reason}.`,
    });
    for (const controller of waiting.values()) controller?.abort(abortReason);
    waiting.clear();
    for (const unsubscribe of unsubscribes) unsubscribe();
    unsubscribes.length = 0;

    resolveClosed({ connection, reason, leasesFreed, waitersCancelled });
  }

  channel.onFrames((frames) => {
    if (isClosed) return;
    try {
      for (const frame of frames) handle(frame);
    } catch (error) {
      // A peer that sends frames this side cannot act on (a key that is not a string, a limit
      // the registry refuses) is cut off rather than allowed to throw inside the owner.
      const detail = error instanceof Error ? error.message : String(error);
      connection.close(`the peer sent a frame the budget owner could not apply (${detail})`);
    }
  });
  channel.onClose((reason) => shutDown(reason));

  return connection;
}

/** Whether an acquire now would be granted without queueing (the in-process budget's rule). */
function grantsAtOnce(budget: Budget): boolean {
  const free = budget.limit === 0 || budget.active < budget.limit;
  return free && budget.pending === 0 && budget.cooldownUntil <= Date.now();
}

function stateOf(budget: Budget): WireBudgetState {
  return {
    key: budget.key,
    limit: budget.limit,
    active: budget.active,
    pending: budget.pending,
    cooldownUntil: budget.cooldownUntil,
  };
}
