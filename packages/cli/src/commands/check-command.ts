import {
  ConfigError,
  createBudgetRegistry,
  createRouter,
  findConfigFile,
  loadConfig,
  resolveConfig,
} from '@sluice/core';
import { redisBackends } from '@sluice/fleet-adapter/redis';
import zhipu from '@sluice/provider-zhipu';
import {
  createReadinessTracker,
  probeRoutes,
  projectReadiness,
  readinessExitCode,
  renderReadinessTable,
  resolveReadinessRoutes,
  toReadinessJSON,
  type ReadinessSnapshot,
} from '@sluice/readiness';
import { startSimulator } from '@sluice/simulator';
import { configLine, withConfigFile } from '../config-file.js';
import {
  DEFAULT_REAL_CONFIG,
  ZHIPU_KEY_ENV,
  simulateWithConfig,
  simulatorConfig,
} from '../router-setup.js';
import type { Terminal } from '../terminal.js';

/** Flags of `sluice check`. */
export interface CheckFlags {
  config?: string | undefined;
  probe: boolean;
  simulate: boolean;
  json: boolean;
}

/** Where the routes come from: `--simulate`, `--config`, or the built-in GLM Coding Plan routes. */
async function routeSource(flags: CheckFlags, env: Record<string, string | undefined>) {
  if (flags.simulate && flags.config !== undefined) throw simulateWithConfig();
  if (flags.simulate) {
    const simulator = await startSimulator({ source: 'generate', outputTokens: 4 });
    return {
      source: { config: simulatorConfig(simulator.baseURL), providers: [zhipu], env },
      close: () => simulator.close(),
    };
  }
  const file = flags.config ?? findConfigFile(process.cwd());
  if (file !== undefined) {
    const loaded = await loadConfig({ file });
    return {
      source: { ...loaded, providers: [...loaded.providers, zhipu], env },
      file: loaded.file,
      close: async () => {},
    };
  }
  return {
    source: { config: DEFAULT_REAL_CONFIG, providers: [zhipu], env },
    builtIn: true,
    close: async () => {},
  };
}

/**
 * The line under the table when no config was found: these are the built-in GLM Coding Plan
 * routes, and what else to run. Without a key the table alone reads as if a config were broken.
 */
function builtInRoutesLine(env: Record<string, string | undefined>): string {
  const keyed = ZHIPU_KEY_ENV.some((name) => env[name]);
  const found =
    'config: none found (no --config, no sluice.config.* in the working directory), ' +
    'so this is the built-in GLM Coding Plan route.';
  const next = keyed
    ? 'Add --probe to send it one request.'
    : `Set ${ZHIPU_KEY_ENV.join(' or ')} to use it, try \`sluice check --simulate\`, ` +
      'or give your own routes with --config sluice.config.ts.';
  return `${found}\n  ${next}`;
}

/**
 * `sluice check`: which routes will work right now. Without `--probe` it reads the config, the
 * catalog and the environment only; with `--probe` it sends one minimal request per route through
 * the budget. Exit code from the default route: 0 ready, 1 cannot work, 3 not known to work.
 */
export async function checkCommand(
  flags: CheckFlags,
  term: Terminal,
  env: Record<string, string | undefined>,
  signal: AbortSignal,
): Promise<number> {
  const { source, close, file, builtIn } = await routeSource(flags, env);
  try {
    let snapshot: ReadinessSnapshot;
    // With no sound route there is nothing to probe (and no config to build a router from): the
    // snapshot is plain check's, every route an invalid-route row with its fix.
    const sound = flags.probe ? resolveReadinessRoutes(source) : undefined;
    if (sound !== undefined && sound.soundConfig !== undefined) {
      // Probe the routes that resolve; the broken ones still show, as invalid-route rows.
      // A provider instance may put its budget on Redis (`budget: { backend: 'redis', url }`), as
      // `fleet` and `chat` allow: an unreachable Redis then shows as the route's budget health.
      const backends = redisBackends();
      const router = createRouter({
        ...source,
        config: sound.soundConfig,
        budgets: createBudgetRegistry(),
        budgetBackends: backends,
      });
      const tracker = createReadinessTracker({
        router,
        problems: sound.problems,
        ...(sound.defaultRoute ? { defaultRoute: sound.defaultRoute } : {}),
      });
      try {
        await probeRoutes(router, undefined, { signal });
        snapshot = tracker.snapshot();
      } finally {
        tracker.close();
        await router.close();
        await backends.redis.closeAll();
      }
    } else {
      snapshot = projectReadiness({ routes: source });
    }

    // The table shows each broken route once; the config's full list of problems (including
    // instances no route uses) is what `fleet` and `chat` would refuse, so show it too.
    const problems = configProblems(source);
    if (term.json) term.out(toReadinessJSON(snapshot));
    else
      term.out(
        renderReadinessTable(snapshot, {
          color: term.colors.isColorSupported,
          width: term.width,
        }),
      );
    if (file !== undefined && !term.json) term.out(configLine(file));
    if (builtIn && !term.json) term.out(builtInRoutesLine(env));
    if (problems && !term.json) {
      term.err(`sluice: the config has problems that fleet and chat would refuse:\n${problems}`);
    }
    const code = readinessExitCode(snapshot);
    return problems && code === 0 ? 1 : code;
  } catch (error) {
    throw withConfigFile(error, file);
  } finally {
    await close();
  }
}

function configProblems(
  source: Parameters<typeof resolveConfig>[1] & { config: unknown },
): string | undefined {
  try {
    resolveConfig(source.config, source);
    return undefined;
  } catch (error) {
    if (ConfigError.isInstance(error)) return error.message;
    throw error;
  }
}
