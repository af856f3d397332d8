/** Package version, kept in step with package.json. */
export const VERSION = '0.1.0';

export {
  startSimulator,
  CODING_BASE_PATH,
  GENERAL_BASE_PATH,
  OPENAI_BASE_PATH,
  RECORDING_HEADER,
} from './start-simulator.js';
export type { Simulator, SimulatorSettings } from './start-simulator.js';
export type {
  SimulatorOptions,
  SimulatorMode,
  SimulatorSource,
  StallEnd,
  SimulatedRequest,
  ResolvedSimulatorOptions,
} from './simulator-options.js';
export { FAULT_HEADER, parseFaultHeader } from './simulator-fault.js';
export type { SimulatorFault } from './simulator-fault.js';
export type { SimulatorStats, TimelineSample } from './simulator-stats.js';
export type { SimulatorEvent, SimulatorEventBody } from './simulator-event.js';
export { GLM_ERROR_MESSAGES, glmErrorBody } from './glm-error-body.js';
export type { GlmErrorBody } from './glm-error-body.js';
export { defaultRecordingsDir, loadRecordings } from './recordings.js';
export type { Recording } from './recordings.js';
export { describeSimulator } from './describe-simulator.js';
export type { SimulatorDescription } from './describe-simulator.js';
