import { ConfigError } from './config-error.js';
import type { ConfigIssue } from './config-error.js';
import { collectSecrets, redactIssues, zodIssuesToConfigIssues } from './config-issues.js';
import { DescriptorIndex } from './descriptor-index.js';
import { checkRetry, mergeRetry, mergeTimeouts } from './merge-policies.js';
import { resolveAdaptive } from './resolve-adaptive.js';
import { credentialFingerprint, resolveApiKey } from './resolve-api-key.js';
import {
  IssueList,
  asRecord,
  didYouMean,
  isRecord,
  listNames,
  optionalString,
} from './resolve-context.js';
import type { Context, Loose } from './resolve-context.js';
import { checkTransportSecurity, resolveEndpoint } from './resolve-endpoint.js';
import { resolveInstanceDescriptor } from './resolve-instance-descriptor.js';
import type { ResolvedAdaptive, ResolvedBudget, ResolvedRoute } from './resolved-route.js';
import { routeConfigSchema } from './route-config-schema.js';
import type { RouteConfig } from './route-config-schema.js';
import { secretSafe } from './secret-safe.js';
import type { ProviderDescriptor, RetryPolicy, TimeoutsMs } from '../descriptor/types.js';

/** Why a provider package named by `use` could not be loaded (filled by `loadConfig`). */
export interface PackageLoadFailure {
  reason: 'not-installed' | 'no-descriptor' | 'load-failed';
  /** The package tried, when it differs from `use` (a bare id tried as `@sluice/provider-<id>`). */
  packageName?: string;
  /** One sentence, no stack. */
  message: string;
}

/** Options of {@link resolveConfig}. */
export interface ResolveConfigOptions {
  /** Descriptors known by id and alias (provider packages, `openAICompatible()` results). */
  providers?: readonly ProviderDescriptor[];
  /** Descriptors by the package name `use` gives (`loadConfig` fills this). */
  packages?: Readonly<Record<string, ProviderDescriptor>>;
  /** Packages that `loadConfig` could not load, by name, reported as config problems. */
  packageFailures?: Readonly<Record<string, PackageLoadFailure>>;
  /** Where `env:NAME` keys and descriptor env vars are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The config file, named in errors. */
  file?: string;
}

/** A provider instance after resolution: the instance-level half of every route on it. */
export interface ResolvedInstance {
  name: string;
  provider: ProviderDescriptor;
  /** Full chat completions URL. */
  url: string;
  endpointName: string | undefined;
  /** The resolved key; never printed, never serialized (JSON shows it masked). */
  apiKey: string | undefined;
  /** `env:NAME`, `literal`, or undefined when missing or not needed. */
  apiKeySource: string | undefined;
  /** Env vars tried when no key was found (readiness reports them). */
  apiKeyEnvTried: string[];
  /** True when the provider needs a key (bearer auth). */
  requiresApiKey: boolean;
  headers: Record<string, string>;
  maxConcurrency: number;
  budget: ResolvedBudget;
  /** The adaptive limit settings, when the instance opted in with `adaptive`. */
  adaptive?: ResolvedAdaptive;
  /** The instance's budget key; a route adds `:<model>` when the scope is `model`. */
  budgetKey: string;
  /** Instance > config-wide > descriptor > Sluice defaults (a route may override again). */
  timeouts: TimeoutsMs;
  retry: RetryPolicy;
  providerOptions: Record<string, unknown>;
  allowInsecure: boolean;
}

/** A validated config with precedence applied: what the router and readiness read. */
export interface ResolvedConfig {
  routes: Map<string, ResolvedRoute>;
  /** The route used when none is named. */
  defaultRoute: string;
  /**
   * The route called `name`, or the default route.
   * @throws {ConfigError} naming the known routes when there is no such route.
   */
  route(name?: string): ResolvedRoute;
  instances: Map<string, ResolvedInstance>;
  /** The validated config as written. */
  config: RouteConfig;
}

function normalizeHeaders(...layers: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const layer of layers) {
    for (const [name, value] of Object.entries(asRecord(layer))) {
      if (typeof value === 'string') out[name.toLowerCase()] = value;
    }
  }
  return out;
}

function resolveInstance(name: string, raw: Loose, context: Context): ResolvedInstance | undefined {
  const descriptor = resolveInstanceDescriptor(name, raw, context);
  if (!descriptor) {
    // Still check what can be checked without a descriptor, so that every problem shows at once.
    const endpoint = optionalString(raw.endpoint);
    if (endpoint?.includes('://')) {
      checkTransportSecurity(endpoint, ['providers', name, 'endpoint'], raw, context);
    }
    return undefined;
  }

  const endpoint = resolveEndpoint(name, raw, descriptor, context);
  const key = resolveApiKey(name, raw, descriptor, context);
  const budgetRaw = asRecord(raw.budget);
  const budget: ResolvedBudget = {
    backend: budgetRaw.backend === 'redis' ? 'redis' : 'memory',
    url: optionalString(budgetRaw.url),
    scope:
      budgetRaw.scope === 'model' || budgetRaw.scope === 'instance'
        ? budgetRaw.scope
        : descriptor.budgetScope,
  };
  const layers = (field: 'timeouts' | 'retry') => [
    asRecord(raw[field]),
    context.global[field],
    descriptor[field] as Loose,
  ];
  const retry = mergeRetry(layers('retry'));
  checkRetry(
    retry,
    [
      { path: ['providers', name, 'retry'], retry: asRecord(raw.retry) },
      { path: ['retry'], retry: context.global.retry },
      { path: ['providers', name, raw.descriptor ? 'descriptor' : 'use'], retry: descriptor.retry },
    ],
    context.issues,
  );
  const maxConcurrency =
    typeof raw.maxConcurrency === 'number' ? raw.maxConcurrency : descriptor.maxConcurrency;
  const adaptive = resolveAdaptive(name, raw, maxConcurrency, context);
  if (!endpoint) return undefined;

  return secretSafe<ResolvedInstance>({
    name,
    provider: descriptor,
    url: endpoint.url,
    endpointName: endpoint.endpointName,
    ...key,
    headers: normalizeHeaders(descriptor.headers, raw.headers),
    maxConcurrency,
    budget,
    ...(adaptive ? { adaptive } : {}),
    budgetKey: optionalString(budgetRaw.key) ?? `${name}:${credentialFingerprint(key.apiKey)}`,
    timeouts: mergeTimeouts(layers('timeouts')),
    retry,
    providerOptions: { ...asRecord(raw.providerOptions) },
    allowInsecure: raw.allowInsecure === true,
  });
}

function resolveModel(
  routeName: string,
  raw: Loose,
  instance: ResolvedInstance,
  context: Context,
): { model: string; modelInfo: ResolvedRoute['modelInfo'] } | undefined {
  const written = optionalString(raw.model) ?? instance.provider.defaultModel;
  if (written === undefined) {
    const ids = instance.provider.catalog.map((model) => model.id);
    context.issues.add(
      ['routes', routeName, 'model'],
      `is required: provider "${instance.provider.id}" has no default model`,
      ids.length > 0 ? `name one of: ${listNames(ids)}` : 'name the model id to send',
    );
    return undefined;
  }
  const catalog = instance.provider.catalog;
  const lower = written.toLowerCase();
  const modelInfo =
    catalog.find((model) => model.id === written || model.aliases?.includes(written)) ??
    catalog.find(
      (model) =>
        model.id.toLowerCase() === lower ||
        model.aliases?.some((alias) => alias.toLowerCase() === lower),
    );
  // An alias is sent as the catalog id, which is what the API accepts.
  return { model: modelInfo?.id ?? written, modelInfo };
}

function resolveRoute(
  routeName: string,
  raw: Loose,
  instances: Map<string, ResolvedInstance | undefined>,
  routeNames: readonly string[],
  context: Context,
): ResolvedRoute | undefined {
  const path = ['routes', routeName];
  const instanceName = optionalString(raw.provider);
  const fallbacks = Array.isArray(raw.fallbacks)
    ? [...new Set(raw.fallbacks.filter((item): item is string => typeof item === 'string'))]
    : [];

  fallbacks.forEach((fallback, index) => {
    if (fallback === routeName) {
      context.issues.add(
        [...path, 'fallbacks', index],
        'names the route itself',
        'remove it',
        fallback,
      );
    } else if (!routeNames.includes(fallback)) {
      const others = routeNames.filter((item) => item !== routeName);
      context.issues.add(
        [...path, 'fallbacks', index],
        others.length === 0
          ? `names no route; "${routeName}" is the only route`
          : `names no route; other routes: ${listNames(others)}${didYouMean(fallback, others)}`,
        others.length === 0
          ? 'add the route to fall back to under `routes`, or remove the fallback'
          : 'name another key of `routes`',
        fallback,
      );
    }
  });

  if (instanceName === undefined) return undefined;
  if (!instances.has(instanceName)) {
    const known = [...instances.keys()];
    context.issues.add(
      [...path, 'provider'],
      `names no provider instance; instances: ${listNames(known)}${didYouMean(instanceName, known)}`,
      context.index.find(instanceName)
        ? `name a key of \`providers\`, or declare the instance: providers: { ${instanceName}: { use: '${instanceName}' } }`
        : 'name a key of `providers`, or declare that provider instance',
      instanceName,
    );
    return undefined;
  }
  const instance = instances.get(instanceName);
  if (!instance) return undefined;

  const model = resolveModel(routeName, raw, instance, context);
  const timeouts = mergeTimeouts([asRecord(raw.timeouts), instance.timeouts as unknown as Loose]);
  const retry = mergeRetry([asRecord(raw.retry), instance.retry as unknown as Loose]);
  checkRetry(retry, [{ path: [...path, 'retry'], retry: asRecord(raw.retry) }], context.issues);
  if (!model) return undefined;

  const budgetKey =
    instance.budget.scope === 'model' ? `${instance.budgetKey}:${model.model}` : instance.budgetKey;
  return secretSafe<ResolvedRoute>({
    name: routeName,
    instance: instanceName,
    provider: instance.provider,
    model: model.model,
    modelInfo: model.modelInfo,
    url: instance.url,
    endpointName: instance.endpointName,
    apiKey: instance.apiKey,
    apiKeySource: instance.apiKeySource,
    apiKeyEnvTried: [...instance.apiKeyEnvTried],
    headers: { ...instance.headers },
    maxConcurrency: instance.maxConcurrency,
    budgetKey,
    timeouts,
    retry,
    fallbacks,
    providerOptions: { ...instance.providerOptions, ...asRecord(raw.providerOptions) },
    budget: { ...instance.budget },
    ...(instance.adaptive ? { adaptive: { ...instance.adaptive } } : {}),
  });
}

function pickDefaultRoute(config: Loose, routeNames: readonly string[], issues: IssueList) {
  const written = optionalString(config.defaultRoute);
  if (written !== undefined) {
    if (routeNames.includes(written)) return written;
    issues.add(
      ['defaultRoute'],
      `names no route; routes: ${listNames(routeNames)}${didYouMean(written, routeNames)}`,
      'name a key of `routes`',
      written,
    );
    return undefined;
  }
  return routeNames.includes('default') ? 'default' : routeNames[0];
}

function noSuchRoute(name: string, routeNames: readonly string[]): ConfigError {
  return new ConfigError({
    subject: 'route name',
    issues: [
      {
        path: 'route',
        message: `no route named "${name}"; routes: ${listNames(routeNames)}${didYouMean(name, routeNames)}`,
        value: JSON.stringify(name),
        fix: 'name a key of `routes` in the config',
      },
    ],
  });
}

/**
 * Validates a route config and applies precedence field by field: route > provider instance >
 * config-wide > descriptor > Sluice defaults ({@link DEFAULT_TIMEOUTS_MS},
 * {@link DEFAULT_RETRY_POLICY}). Endpoints: a descriptor endpoint name or a base URL, plus the chat
 * path; plain http only to loopback or with `allowInsecure`. Keys: `env:NAME`, a literal, or the
 * descriptor's env vars in order; a missing key is not a config error (readiness reports it,
 * `apiKeyEnvTried` says where Sluice looked). Budget key: `<instance>:<sha256(key)[0..12] | nokey>`
 * (`:<model>` added for model scope), never the key itself. Default route: `defaultRoute`, else a
 * route named `default`, else the first.
 *
 * @throws {ConfigError} with EVERY problem at once, each with path, masked value and fix.
 */
export function resolveConfig(config: unknown, options: ResolveConfigOptions = {}): ResolvedConfig {
  const issues = new IssueList();
  const parsed = routeConfigSchema.safeParse(config, { reportInput: true });
  if (!parsed.success) {
    issues.items.push(
      ...zodIssuesToConfigIssues(parsed.error.issues, { schema: routeConfigSchema, input: config }),
    );
  }

  const raw = asRecord(config);
  const context: Context = {
    issues,
    index: new DescriptorIndex(
      [...(options.providers ?? []), ...Object.values(options.packages ?? {})],
      issues,
    ),
    options,
    env: options.env ?? process.env,
    global: { timeouts: asRecord(raw.timeouts), retry: asRecord(raw.retry) },
    secrets: [],
  };

  const instances = new Map<string, ResolvedInstance | undefined>();
  for (const [name, instance] of Object.entries(asRecord(raw.providers))) {
    instances.set(name, isRecord(instance) ? resolveInstance(name, instance, context) : undefined);
  }

  const rawRoutes = asRecord(raw.routes);
  const routeNames = Object.keys(rawRoutes);
  if (isRecord(raw.routes) && routeNames.length === 0) {
    issues.add(
      ['routes'],
      'declares no route',
      "add one, e.g. default: { provider: 'glm', model: 'glm-4.6' }",
    );
  }
  const routes = new Map<string, ResolvedRoute>();
  for (const [name, route] of Object.entries(rawRoutes)) {
    if (!isRecord(route)) continue;
    const resolved = resolveRoute(name, route, instances, routeNames, context);
    if (resolved) routes.set(name, resolved);
  }
  const defaultRoute = pickDefaultRoute(raw, routeNames, issues);

  if (issues.items.length > 0 || defaultRoute === undefined || !parsed.success) {
    throw new ConfigError({
      issues: redactIssues(dedupe(issues.items), [...collectSecrets(config), ...context.secrets]),
      ...(options.file === undefined ? {} : { file: options.file }),
    });
  }

  const resolvedInstances = new Map<string, ResolvedInstance>();
  for (const [name, instance] of instances) if (instance) resolvedInstances.set(name, instance);
  return {
    routes,
    defaultRoute,
    instances: resolvedInstances,
    config: parsed.data,
    route(name?: string): ResolvedRoute {
      const wanted = name ?? defaultRoute;
      const found = routes.get(wanted);
      if (!found) throw noSuchRoute(wanted, routeNames);
      return found;
    },
  };
}

// Sorted by path (stable), so that the problems of one provider instance or route sit together.
function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  const sorted = [...issues].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return sorted.filter((issue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export { credentialFingerprint } from './resolve-api-key.js';
export { looksLikePackageName, packageNameOf, tagDescriptorPackage } from './descriptor-index.js';
