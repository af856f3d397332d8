import type { Simulator, SimulatorSettings } from './start-simulator.js';
import { CODING_BASE_PATH, GENERAL_BASE_PATH, OPENAI_BASE_PATH } from './start-simulator.js';

/** What `sluice simulate` shows about a running simulator. */
export interface SimulatorDescription {
  url: string;
  /** Base URLs to give an OpenAI-compatible client, per wire flavour. */
  baseURLs: { coding: string; general: string; openai: string };
  settings: SimulatorSettings;
  /** Human-readable lines; the caller prints them (this package never prints). */
  lines: string[];
}

/**
 * Describes a running simulator for display: URLs, the ceiling against the advertised limit,
 * the mode and content source.
 */
export function describeSimulator(sim: Simulator): SimulatorDescription {
  // The bound port, not the requested one (0 asks for a free port).
  const settings = { ...sim.settings(), port: sim.port };
  const baseURLs = {
    coding: `${sim.url}${CODING_BASE_PATH}`,
    general: `${sim.url}${GENERAL_BASE_PATH}`,
    openai: `${sim.url}${OPENAI_BASE_PATH}`,
  };
  const pastCeiling = {
    stall: `held without headers for ${settings.stallMs} ms, then ${
      settings.stallEnd === 'error' ? '429 (code 1302)' : 'socket reset'
    }`,
    reject: 'answered 429 (code 1302) at once',
    slow: 'served, with every stream slowed by the load over the ceiling',
  }[settings.mode];
  const source =
    settings.source === 'recorded'
      ? `recorded GLM streams at ${settings.tokensPerSecond} events/s`
      : `generated text, ${settings.outputTokens} tokens at ${settings.tokensPerSecond} tokens/s`;

  const lines = [
    `Zhipu GLM simulator listening on ${sim.url}`,
    `  base URL (coding plan): ${baseURLs.coding}`,
    `  base URL (general):     ${baseURLs.general}`,
    `  base URL (OpenAI):      ${baseURLs.openai}`,
    `  concurrency: serves ${settings.ceiling} at once (advertised ${settings.advertised})`,
    `  past the ceiling (${settings.mode}): ${pastCeiling}`,
    `  content: ${source}`,
    `  api key: ${settings.checksApiKey ? 'required (Authorization: Bearer ...)' : 'not checked'}`,
  ];
  return { url: sim.url, baseURLs, settings, lines };
}
