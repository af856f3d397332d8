import {
  ConfigError,
  createBudgetRegistry,
  createRouter,
  findConfigFile,
  loadConfig,
  type BudgetRegistry,
  type Router,
} from '@sluice/core';
import { redisBackends } from '@sluice/fleet-adapter/redis';
import zhipu from '@sluice/provider-zhipu';
import { startSimulator, type Simulator, type SimulatorOptions } from '@sluice/simulator';
import { configFileOf, withConfigFile } from './config-file.js';
import { UsageError } from './usage-error.js';

/** Env vars the zhipu descriptor reads its key from, in order. */
export const ZHIPU_KEY_ENV = zhipu.auth.envVars;

/** A router ready to use, and what to close after. */
export interface RouterSetup {
  router: Router;
  /** Where requests go, for the header line (no secrets). */
  target: string;
  /** The config file read (absolute), from `--config` or found in the working directory. */
  configFile: string | undefined;
  simulator: Simulator | undefined;
  close(): Promise<void>;
}

/** Options of {@link setupRouter}. */
export interface RouterSetupOptions {
  simulate: boolean;
  configFile?: string | undefined;
  env: Record<string, string | undefined>;
  /** Overrides for the simulated provider instance (the demo sets maxConcurrency and timeouts). */
  instance?: Record<string, unknown>;
  simulator?: Simulator;
  simulatorOptions?: SimulatorOptions;
  budgets?: BudgetRegistry;
  command: string;
  /** Where to look for a sluice.config.* when no --config is given; default the process cwd. */
  cwd?: string;
}

/** The route config used with `--simulate`: the zhipu descriptor pointed at the simulator. */
export function simulatorConfig(baseURL: string, instance: Record<string, unknown> = {}) {
  return {
    providers: {
      glm: { use: 'zhipu', endpoint: baseURL, apiKey: 'simulator-key', ...instance },
    },
    routes: { default: { provider: 'glm', model: 'glm-4.6' } },
  };
}

/** The route config used with a key in the environment and no `--config`: the GLM Coding Plan. */
export const DEFAULT_REAL_CONFIG = {
  providers: { glm: { use: 'zhipu', endpoint: 'coding' } },
  routes: { default: { provider: 'glm', model: 'glm-4.6' } },
};

/**
 * Chooses where requests go: the embedded simulator with `--simulate`, the given config file, or
 * the real GLM Coding Plan when one of the zhipu key env vars is set. With none of them it throws
 * a {@link UsageError} saying how to run each. Config problems become usage errors too (exit 2).
 */
export async function setupRouter(options: RouterSetupOptions): Promise<RouterSetup> {
  if (options.simulate && options.configFile !== undefined) throw simulateWithConfig();
  const budgets = options.budgets ?? createBudgetRegistry();
  try {
    if (options.simulate) return await simulated(options, budgets);
    // An explicit --config wins; else a sluice.config.* in the working directory, as loadConfig finds it.
    const configFile = options.configFile ?? findConfigFile(options.cwd ?? process.cwd());
    if (configFile !== undefined) return await fromFile({ ...options, configFile }, budgets);
    if (ZHIPU_KEY_ENV.some((name) => options.env[name])) {
      const router = createRouter({
        config: DEFAULT_REAL_CONFIG,
        providers: [zhipu],
        budgets,
        env: options.env,
      });
      return {
        router,
        target: `${router.route().url} (${router.route().model})`,
        configFile: undefined,
        simulator: undefined,
        close: () => router.close(),
      };
    }
  } catch (error) {
    // Not ConfigError.isInstance (SluiceError's, true for any SluiceError): a failure that is not
    // the config's stays what it is, and exits 1. The usage error keeps the config file noted.
    if (ConfigError.isConfigError(error)) {
      throw withConfigFile(new UsageError(error.message), configFileOf(error));
    }
    throw error;
  }
  throw new UsageError(
    `nothing to talk to. Run it on the embedded simulator with ` +
      `\`sluice ${options.command} --simulate\`, or against the GLM Coding Plan by setting ` +
      `${ZHIPU_KEY_ENV.join(' or ')}, or with your own routes via \`--config sluice.config.ts\`.`,
  );
}

async function simulated(
  options: RouterSetupOptions,
  budgets: BudgetRegistry,
): Promise<RouterSetup> {
  const own = options.simulator === undefined;
  const simulator = options.simulator ?? (await startSimulator(options.simulatorOptions ?? {}));
  try {
    const router = createRouter({
      config: simulatorConfig(simulator.baseURL, options.instance),
      providers: [zhipu],
      budgets,
      env: options.env,
    });
    return {
      router,
      target: `simulator ${simulator.baseURL}`,
      configFile: undefined,
      simulator,
      close: async () => {
        await router.close();
        if (own) await simulator.close();
      },
    };
  } catch (error) {
    if (own) await simulator.close();
    throw error;
  }
}

async function fromFile(
  options: RouterSetupOptions,
  budgets: BudgetRegistry,
): Promise<RouterSetup> {
  // A file that cannot be loaded: loadConfig's error names it already.
  const loaded = await loadConfig({ file: options.configFile });
  // A config may put a provider's budget on Redis (`budget: { backend: 'redis', url }`).
  const backends = redisBackends();
  try {
    const router = createRouter({
      config: loaded.config,
      providers: [...loaded.providers, ...Object.values(loaded.packages), zhipu],
      budgets,
      budgetBackends: backends,
      env: options.env,
    });
    const route = router.route();
    return {
      router,
      target: `${route.url} (${route.model})`,
      configFile: loaded.file,
      simulator: undefined,
      close: async () => {
        await router.close();
        await backends.redis.closeAll();
      },
    };
  } catch (error) {
    // The file was read, and what it says cannot be used: name the file to fix.
    throw withConfigFile(error, loaded.file);
  }
}

/** `--simulate` brings its own route config, so a `--config` next to it would be ignored. */
export function simulateWithConfig(): UsageError {
  return new UsageError(
    '--simulate runs on the embedded simulator with its own routes and would ignore --config; drop one of the two.',
  );
}
