/**
 * @sluice/cli: the `sluice` command. The programmatic entry runs the same commands with streams
 * of your own, and exposes the fan-out scenario the `fleet` and `demo` commands run.
 */
export { runCli, type CliIO } from './run-cli.js';
export {
  runFleetScenario,
  type FleetReport,
  type FleetScenarioOptions,
  type SessionProgress,
  type SessionReport,
  type SessionState,
} from './fleet/run-fleet-scenario.js';
export { DEMO_INSTANCE, DEMO_SIMULATOR } from './commands/demo-command.js';
export { VERSION } from './version.js';
