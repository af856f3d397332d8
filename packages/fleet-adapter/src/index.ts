/**
 * @sluice/fleet-adapter: a session tree whose sub-agents share the parent's provider budgets, in
 * this thread, in worker threads, in child processes and, through a Unix-socket broker, in
 * processes the parent did not start.
 */

/** Package version, kept in step with package.json. */
export const VERSION = '0.1.0';

export {
  createFleet,
  type Fleet,
  type FleetOptions,
  type FleetProcess,
  type FleetProcessOptions,
  type FleetSpawnOptions,
  type FleetWorker,
  type FleetWorkerOptions,
} from './fleet/create-fleet.js';
export type {
  Session,
  SessionChatOptions,
  SessionStatsOptions,
  SpawnSessionOptions,
} from './fleet/session.js';
export type { DurationSummary, SessionStats } from './fleet/session-accounting.js';
export {
  attachBudget,
  attachedRegistry,
  registerBudgetScheme,
  BUDGET_ENV,
  WORKER_PORT_KEY,
  type AttachBudgetOptions,
  type AttachedBudget,
  type BudgetSchemeHandler,
} from './attach/attach-budget.js';
export {
  serveBudgetBroker,
  type BudgetBroker,
  type BudgetBrokerOptions,
} from './broker/serve-budget-broker.js';
export {
  createBudgetServer,
  type AcceptOptions,
  type BoundSession,
  type BudgetConnection,
  type BudgetServer,
  type BudgetServerOptions,
  type ConnectionClosedEvent,
  type RemoteLeaseEvent,
  type RemoteRouterEvent,
} from './server/budget-server.js';
export {
  createRemoteBudgetBackend,
  type EventSource,
  type RemoteBudgetBackend,
  type RemoteBudgetBackendOptions,
} from './client/remote-budget-backend.js';
export {
  spawnBudgetWorker,
  type BudgetWorker,
  type SpawnBudgetWorkerOptions,
} from './spawn/spawn-budget-worker.js';
export {
  spawnBudgetProcess,
  type BudgetProcess,
  type SpawnBudgetProcessOptions,
} from './spawn/spawn-budget-process.js';
export {
  BUDGET_PROTOCOL_VERSION,
  FrameBatcher,
  fromWireError,
  toWireError,
  type ClientFrame,
  type FrameChannel,
  type ServerFrame,
  type WireBudgetState,
  type WireError,
} from './protocol/budget-protocol.js';
export {
  IPC_MESSAGE_KEY,
  ipcChannel,
  messagePortChannel,
  socketChannel,
  type IpcEndpoint,
} from './protocol/frame-channels.js';
export { deferredChannel, type DeferredChannel } from './protocol/deferred-channel.js';
