import {
  ConfigError,
  resolveConfig,
  type ConfigIssue,
  type ResolveConfigOptions,
  type ResolvedRoute,
} from '@sluice/core';
import type { RouteProblem } from './decide-route-state.js';

/** A route config to resolve, with what `resolveConfig` needs (descriptors, env, file). */
export interface ConfigRoutesSource extends ResolveConfigOptions {
  /** The route config, as from `defineConfig()` or a loaded `sluice.config.*`. */
  config: unknown;
}

/** Routes that resolved, and a problem for each one that did not. */
export interface ReadinessRoutes {
  routes: ResolvedRoute[];
  problems: RouteProblem[];
  /** The config's default route, also when it is one of the broken ones. */
  defaultRoute: string | undefined;
  /**
   * The config without the broken routes and instances: what `createRouter` can be given to
   * probe the sound routes. Undefined when no route is sound.
   */
  soundConfig: unknown;
}

type Loose = Record<string, unknown>;

const isRecord = (value: unknown): value is Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// `routes.fast.provider` or `routes["my route"].model` -> section and key.
const ISSUE_PATH = /^(routes|providers)(?:\.([A-Za-z_$][A-Za-z0-9_$-]*)|\[("(?:[^"\\]|\\.)*")\])/;

function sectionOf(issue: ConfigIssue): { section: 'routes' | 'providers'; name: string } | null {
  const match = ISSUE_PATH.exec(issue.path);
  if (!match) return null;
  const name = match[2] ?? (match[3] ? (JSON.parse(match[3]) as string) : undefined);
  return name === undefined ? null : { section: match[1] as 'routes' | 'providers', name };
}

function unquote(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'string' ? parsed : value;
  } catch {
    return value;
  }
}

function describeIssue(issue: ConfigIssue): string {
  const got = issue.value === undefined ? '' : ` (got ${issue.value})`;
  return `${issue.path} ${issue.message}${got}`;
}

function addProblem(
  problems: Map<string, RouteProblem>,
  route: string,
  issue: ConfigIssue,
  prefix = '',
) {
  const existing = problems.get(route);
  if (existing) {
    existing.message += `; ${prefix}${describeIssue(issue)}`;
    return;
  }
  const reference = unquote(issue.value);
  problems.set(route, {
    route,
    message: `${prefix}${describeIssue(issue)}`,
    path: issue.path,
    ...(reference === undefined ? {} : { reference }),
    fix: `${issue.path}: ${issue.fix}`,
  });
}

/**
 * Resolves a route config for readiness: like `resolveConfig`, but a broken route does not hide
 * the others. Each issue under `routes.<name>` makes that route a problem; each issue under
 * `providers.<instance>` makes every route on that instance a problem; the rest of the config is
 * resolved again without them (fallbacks to removed routes are dropped for that pass), so every
 * sound route still gets its full projection. All resolution is `resolveConfig`'s own.
 *
 * @throws ConfigError for problems that belong to no route or instance (the file's shape,
 *   config-wide timeouts): those stop every route, so `sluice check` reports them as a config error.
 */
export function resolveReadinessRoutes(source: ConfigRoutesSource): ReadinessRoutes {
  const { config, ...options } = source;
  if (!isRecord(config)) return { ...resolveOrThrow(config, options) };

  const routes: Loose = isRecord(config.routes) ? { ...config.routes } : {};
  const wantedDefault =
    typeof config.defaultRoute === 'string'
      ? config.defaultRoute
      : 'default' in routes
        ? 'default'
        : Object.keys(routes)[0];
  const providers: Loose = isRecord(config.providers) ? { ...config.providers } : {};
  const problems = new Map<string, RouteProblem>();
  let current: Loose = { ...config, routes, providers };

  // Each pass removes at least one route or instance, so this ends; the bound is a guard.
  for (let pass = 0; pass <= Object.keys(routes).length + Object.keys(providers).length; pass++) {
    try {
      const resolved = resolveConfig(current, options);
      return {
        routes: [...resolved.routes.values()],
        problems: [...problems.values()],
        defaultRoute: wantedDefault ?? resolved.defaultRoute,
        soundConfig: problems.size === 0 ? config : current,
      };
    } catch (error) {
      if (!ConfigError.isConfigError(error)) throw error;
      const unplaced = placeIssues(error.issues, routes, providers, problems, wantedDefault);
      if (Object.keys(routes).length === 0 && problems.size > 0) {
        // Every route is broken: nothing is left to resolve, and each has its problem.
        return {
          routes: [],
          problems: [...problems.values()],
          defaultRoute: wantedDefault,
          soundConfig: undefined,
        };
      }
      if (unplaced.length > 0) {
        throw unplaced.length === error.issues.length
          ? error
          : new ConfigError({ issues: unplaced, ...(options.file ? { file: options.file } : {}) });
      }
      current = withoutRemoved(current, routes, providers, wantedDefault);
    }
  }
  throw new ConfigError({
    issues: [{ path: '(root)', message: 'could not be resolved', fix: 'run `sluice check`' }],
  });
}

function resolveOrThrow(config: unknown, options: ResolveConfigOptions): ReadinessRoutes {
  const resolved = resolveConfig(config, options);
  return {
    routes: [...resolved.routes.values()],
    problems: [],
    defaultRoute: resolved.defaultRoute,
    soundConfig: config,
  };
}

/** Moves each issue onto its route(s), removing them from `routes`; returns the issues left. */
function placeIssues(
  issues: readonly ConfigIssue[],
  routes: Loose,
  providers: Loose,
  problems: Map<string, RouteProblem>,
  wantedDefault: string | undefined,
): ConfigIssue[] {
  const unplaced: ConfigIssue[] = [];
  for (const issue of issues) {
    const where = sectionOf(issue);
    if (where?.section === 'routes' && where.name in routes) {
      addProblem(problems, where.name, issue);
      delete routes[where.name];
    } else if (where?.section === 'providers' && where.name in providers) {
      delete providers[where.name];
      for (const [name, route] of Object.entries(routes)) {
        if (!isRecord(route) || route.provider !== where.name) continue;
        addProblem(problems, name, issue, `provider instance "${where.name}" is invalid: `);
        delete routes[name];
      }
    } else if (issue.path === 'defaultRoute' && wantedDefault !== undefined) {
      // The default names no route: readiness shows it as an invalid route of that name.
      addProblem(problems, wantedDefault, issue);
    } else if (where && problems.has(where.name)) {
      // A follow-up issue of something already removed.
    } else {
      unplaced.push(issue);
    }
  }
  return unplaced;
}

/** The config without removed routes/instances and without fallbacks or a default naming them. */
function withoutRemoved(
  config: Loose,
  routes: Loose,
  providers: Loose,
  wantedDefault: string | undefined,
): Loose {
  const kept: Loose = {};
  for (const [name, route] of Object.entries(routes)) {
    kept[name] =
      isRecord(route) && Array.isArray(route.fallbacks)
        ? { ...route, fallbacks: route.fallbacks.filter((fallback) => fallback in routes) }
        : route;
  }
  const next: Loose = { ...config, routes: kept, providers };
  if (wantedDefault !== undefined && !(wantedDefault in routes)) delete next.defaultRoute;
  return next;
}
