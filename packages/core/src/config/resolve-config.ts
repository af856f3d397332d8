import { createHash } from 'node:crypto';
import { maskSecret } from '../errors/redact.js';
import {
  DEFAULT_CHAT_PATH,
  DEFAULT_RETRY_POLICY,
  DEFAULT_TIMEOUTS_MS,
} from '../descriptor/defaults.js';
import { checkProviderDescriptor } from '../descriptor/define-provider.js';
import type { ProviderDescriptor, RetryPolicy, TimeoutsMs } from '../descriptor/types.js';
import { closestName } from './closest-name.js';
import { ConfigError } from './config-error.js';
import type { ConfigIssue } from './config-error.js';
import {
  collectSecrets,
  describeValue,
  formatPath,
  maskUrlCredentials,
  redactIssues,
  zodIssuesToConfigIssues,
} from './config-issues.js';
import type { IssuePath } from './config-issues.js';
import { isLoopbackHost } from './is-loopback-host.js';
import type { ResolvedBudget, ResolvedRoute } from './resolved-route.js';
import { routeConfigSchema } from './route-config-schema.js';
import type { RouteConfig } from './route-config-schema.js';

/** Why a provider package named by `use` could not be loaded (filled by `loadConfig`). */
export interface PackageLoadFailure {
  reason: 'not-installed' | 'no-descriptor' | 'load-failed';
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

const SECRET_HEADER = /(auth|key|token|secret|cookie|signature|password|credential)/i;

// Keys never reach JSON or `util.inspect` output from these objects: both print the key, secret
// looking headers and a Redis password masked. A spread copy loses this protection (it lives on
// the prototype), which is why callers should pass these objects as they are.
const SECRET_SAFE = {
  toJSON(this: {
    url?: string;
    apiKey?: string;
    headers?: Record<string, string>;
    budget?: ResolvedBudget;
  }): Record<string, unknown> {
    const { apiKey, headers, budget, url, ...rest } = this;
    const safeHeaders = Object.fromEntries(
      Object.entries(headers ?? {}).map(([name, value]) => [
        name,
        SECRET_HEADER.test(name) ? maskSecret(value) : value,
      ]),
    );
    return {
      ...rest,
      ...(url === undefined ? {} : { url: maskUrlCredentials(url) }),
      apiKey: apiKey === undefined ? undefined : maskSecret(apiKey),
      headers: safeHeaders,
      ...(budget === undefined
        ? {}
        : { budget: { ...budget, url: budget.url && maskUrlCredentials(budget.url) } }),
    };
  },
  [Symbol.for('nodejs.util.inspect.custom')](this: { toJSON(): unknown }) {
    return this.toJSON();
  },
};

function secretSafe<T extends object>(value: T): T {
  return Object.assign(Object.create(SECRET_SAFE) as T, value);
}

type Loose = Record<string, unknown>;

function isRecord(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asRecord(value: unknown): Loose {
  return isRecord(value) ? value : {};
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Collects issues in one list so that every problem is reported at once. */
class IssueList {
  readonly items: ConfigIssue[] = [];

  add(path: IssuePath, message: string, fix: string, value?: unknown): void {
    const shown = describeValue(value, path);
    this.items.push({
      path: formatPath(path),
      message,
      ...(shown === undefined ? {} : { value: shown }),
      fix,
    });
  }
}

function listNames(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.map((name) => `"${name}"`).join(', ');
}

function didYouMean(name: string, known: readonly string[]): string {
  const suggestion = closestName(name, known);
  return suggestion ? `; did you mean "${suggestion}"?` : '';
}

// `@sluice/provider-zhipu`, `sluice-provider-zhipu`, `@acme/sluice-provider-x` -> the id part, so
// that a descriptor passed in `providers` matches its package name without `loadConfig`.
const PACKAGE_ID = /^(?:@[^/]+\/)?(?:sluice-)?provider-(.+)$/;

const PACKAGE_NAME = Symbol.for('@sluice/core/descriptor-package');

/**
 * Records which package a descriptor was loaded from (`loadConfig` does this), so that a `use`
 * naming that package finds it among plain `providers`. Non-enumerable: it never shows in JSON.
 */
export function tagDescriptorPackage(descriptor: ProviderDescriptor, packageName: string): void {
  Object.defineProperty(descriptor, PACKAGE_NAME, { value: packageName, configurable: true });
}

/** The package a descriptor was loaded from by `loadConfig`, if any. */
export function packageNameOf(descriptor: ProviderDescriptor): string | undefined {
  const value = (descriptor as { [PACKAGE_NAME]?: unknown })[PACKAGE_NAME];
  return typeof value === 'string' ? value : undefined;
}

/** True when `use` reads as an npm package name rather than a descriptor id. */
export function looksLikePackageName(use: string): boolean {
  return use.startsWith('@') || use.includes('/') || /^sluice-provider-/.test(use);
}

// Fields defineProvider fills; a descriptor missing one was written by hand and gets parsed.
function isComplete(descriptor: ProviderDescriptor): boolean {
  const value = descriptor as Partial<ProviderDescriptor>;
  return (
    typeof value.displayName === 'string' &&
    Array.isArray(value.aliases) &&
    typeof value.defaultEndpoint === 'string' &&
    typeof value.chatPath === 'string' &&
    Array.isArray(value.auth?.envVars) &&
    Array.isArray(value.catalog) &&
    value.catalog.every((model) => typeof model.capabilities === 'object') &&
    typeof value.budgetScope === 'string' &&
    typeof value.timeouts === 'object' &&
    typeof value.retry === 'object'
  );
}

class DescriptorIndex {
  private readonly byName = new Map<string, ProviderDescriptor>();
  private readonly shown: string[] = [];

  /** Indexes by id, alias and package; checks each descriptor, reporting bad ones as issues. */
  constructor(providers: readonly ProviderDescriptor[], issues: IssueList) {
    providers.forEach((given, index) => {
      const checked = checkProviderDescriptor(given, ['resolveOptions', 'providers', index]);
      issues.items.push(...checked.issues);
      if (!checked.descriptor) return;
      // Keep the caller's object when it is already complete: routers compare by identity.
      const descriptor = isComplete(given) ? given : checked.descriptor;
      const packageName = packageNameOf(given);
      if (packageName) tagDescriptorPackage(descriptor, packageName);
      const names = [descriptor.id, ...descriptor.aliases, ...(packageName ? [packageName] : [])];
      for (const name of names) {
        const key = name.toLowerCase();
        if (this.byName.has(key)) continue;
        this.byName.set(key, descriptor);
        this.shown.push(name);
      }
    });
  }

  find(name: string): ProviderDescriptor | undefined {
    const direct = this.byName.get(name.toLowerCase());
    if (direct) return direct;
    const idPart = PACKAGE_ID.exec(name)?.[1];
    return idPart === undefined ? undefined : this.byName.get(idPart.toLowerCase());
  }

  names(): string[] {
    return [...this.shown];
  }
}

interface Context {
  issues: IssueList;
  index: DescriptorIndex;
  options: ResolveConfigOptions;
  env: Readonly<Record<string, string | undefined>>;
  global: { timeouts: Loose; retry: Loose };
}

function descriptorForInstance(
  name: string,
  instance: Loose,
  context: Context,
): ProviderDescriptor | undefined {
  const path = ['providers', name];
  const use = optionalString(instance.use);
  const inline = instance.descriptor;

  if (inline !== undefined) {
    // Not an object at all: the schema has said so already.
    if (!isRecord(inline)) return undefined;
    const checked = checkProviderDescriptor(inline, [...path, 'descriptor']);
    context.issues.items.push(...checked.issues);
    const descriptor = checked.descriptor;
    if (descriptor && use !== undefined) {
      const names = [descriptor.id, ...descriptor.aliases].map((item) => item.toLowerCase());
      if (!names.includes(use.toLowerCase())) {
        context.issues.add(
          [...path, 'use'],
          `names "${use}" but the inline descriptor is "${descriptor.id}"`,
          'remove `use` (the inline descriptor is enough) or make it the descriptor id',
          use,
        );
      }
    }
    return descriptor;
  }

  if (use === undefined) {
    if (instance.use === undefined) {
      context.issues.add(
        [...path, 'use'],
        'is required: no descriptor for this provider instance',
        "name a provider package (use: '@sluice/provider-zhipu') or a descriptor id, or declare " +
          'one inline (descriptor: openAICompatible({ id, baseURL }))',
      );
    }
    return undefined;
  }

  const loaded = context.options.packages?.[use];
  if (loaded) return loaded;
  const failure = context.options.packageFailures?.[use];
  if (failure) {
    context.issues.add(
      [...path, 'use'],
      failure.reason === 'not-installed'
        ? `provider package "${use}" is not installed`
        : `provider package "${use}" could not be loaded: ${failure.message}`,
      failure.reason === 'not-installed'
        ? `npm install ${use}`
        : failure.reason === 'no-descriptor'
          ? 'export the descriptor as the default export or as `provider`'
          : `reinstall it (npm install ${use}) and check that it imports on its own`,
      use,
    );
    return undefined;
  }

  const found = context.index.find(use);
  if (found) return found;
  if (looksLikePackageName(use)) {
    context.issues.add(
      [...path, 'use'],
      `provider package "${use}" is not installed (or its descriptor was not passed in providers)`,
      `npm install ${use}`,
      use,
    );
  } else {
    const known = context.index.names();
    context.issues.add(
      [...path, 'use'],
      `names no known provider; known ids and aliases: ${listNames(known)}${didYouMean(use, known)}`,
      'use a known id, a provider package name (e.g. @sluice/provider-zhipu), or declare it ' +
        'inline with descriptor: openAICompatible({ id, baseURL })',
      use,
    );
  }
  return undefined;
}

function joinChatUrl(base: string, chatPath: string): string {
  const url = new URL(base);
  const basePath = url.pathname.replace(/\/+$/, '');
  // A base URL pasted with the chat path already on it is taken as is, not doubled.
  url.pathname = basePath.endsWith(chatPath) ? basePath : `${basePath}${chatPath}`;
  return url.toString();
}

/** Refuses plain http:// to anything but loopback unless the instance sets `allowInsecure`. */
function checkTransportSecurity(
  base: string,
  reportPath: IssuePath,
  instance: Loose,
  context: Context,
): void {
  if (!URL.canParse(base)) return;
  const parsed = new URL(base);
  if (parsed.protocol !== 'http:' || isLoopbackHost(parsed.hostname)) return;
  if (instance.allowInsecure === true) return;
  context.issues.add(
    reportPath,
    `plain http:// endpoint ${parsed.host} is not loopback: the API key would cross the ` +
      'network in clear text',
    'use https://, or set allowInsecure: true on this provider instance for a trusted network',
    base,
  );
}

function resolveEndpoint(
  name: string,
  instance: Loose,
  descriptor: ProviderDescriptor,
  context: Context,
): { url: string; endpointName: string | undefined } | undefined {
  const endpoint = optionalString(instance.endpoint);
  const endpointPath = ['providers', name, 'endpoint'];
  const known = Object.keys(descriptor.endpoints);
  let base: string;
  let endpointName: string | undefined;
  let reportPath: IssuePath = endpointPath;

  if (endpoint === undefined) {
    endpointName = descriptor.defaultEndpoint;
    base = descriptor.endpoints[endpointName] ?? '';
    reportPath = ['providers', name, instance.descriptor ? 'descriptor' : 'use'];
  } else if (endpoint.includes('://')) {
    if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
      context.issues.add(
        endpointPath,
        'is not a valid http(s) URL',
        "write a base URL such as 'https://api.example.com/v1', or an endpoint name: " +
          listNames(known),
        endpoint,
      );
      return undefined;
    }
    base = endpoint;
    endpointName = known.find((key) => descriptor.endpoints[key] === endpoint);
  } else {
    const match = descriptor.endpoints[endpoint];
    if (match === undefined) {
      context.issues.add(
        endpointPath,
        `names no endpoint of "${descriptor.id}"; its endpoints: ${listNames(known)}` +
          didYouMean(endpoint, known),
        'use one of those names or an https:// base URL',
        endpoint,
      );
      return undefined;
    }
    base = match;
    endpointName = endpoint;
  }

  checkTransportSecurity(base, reportPath, instance, context);
  const parsed = new URL(base);
  if (parsed.username !== '' || parsed.password !== '') {
    // fetch refuses URLs with credentials, and they would show up wherever the URL is printed.
    context.issues.add(
      reportPath,
      'carries credentials in the URL (user:password@)',
      'remove them from the URL; put the key in apiKey (or a header in headers)',
      base,
    );
  }
  return { url: joinChatUrl(base, descriptor.chatPath ?? DEFAULT_CHAT_PATH), endpointName };
}

// Keys pasted into .env files or read from secret files often carry a trailing newline, which
// turns into a 401 far from its cause; no provider key contains whitespace, so it is dropped.
function cleanKey(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

const ENV_NAME_LIKE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

function resolveApiKey(
  name: string,
  instance: Loose,
  descriptor: ProviderDescriptor,
  context: Context,
): Pick<ResolvedInstance, 'apiKey' | 'apiKeySource' | 'apiKeyEnvTried' | 'requiresApiKey'> {
  const configured = optionalString(instance.apiKey);
  const requiresApiKey = descriptor.auth.type !== 'none';

  if (configured !== undefined && configured.startsWith('env:')) {
    const envName = configured.slice(4);
    const value = cleanKey(context.env[envName]);
    return value
      ? { apiKey: value, apiKeySource: configured, apiKeyEnvTried: [], requiresApiKey }
      : { apiKey: undefined, apiKeySource: undefined, apiKeyEnvTried: [envName], requiresApiKey };
  }
  if (configured !== undefined) {
    if (ENV_NAME_LIKE.test(configured)) {
      context.issues.add(
        ['providers', name, 'apiKey'],
        'looks like an env var name, but without "env:" it would be sent as the key itself',
        "write 'env:' before the variable name to read the key from the environment",
        configured,
      );
    }
    return {
      apiKey: cleanKey(configured),
      apiKeySource: 'literal',
      apiKeyEnvTried: [],
      requiresApiKey,
    };
  }
  if (!requiresApiKey) {
    return { apiKey: undefined, apiKeySource: undefined, apiKeyEnvTried: [], requiresApiKey };
  }
  for (const envName of descriptor.auth.envVars) {
    const value = cleanKey(context.env[envName]);
    if (value) {
      return { apiKey: value, apiKeySource: `env:${envName}`, apiKeyEnvTried: [], requiresApiKey };
    }
  }
  return {
    apiKey: undefined,
    apiKeySource: undefined,
    apiKeyEnvTried: [...descriptor.auth.envVars],
    requiresApiKey,
  };
}

/** The first 12 hex chars of sha256(key), or `nokey`: tells credentials apart, reveals nothing. */
export function credentialFingerprint(apiKey: string | undefined): string {
  if (!apiKey) return 'nokey';
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 12);
}

const TIMEOUT_FIELDS = Object.keys(DEFAULT_TIMEOUTS_MS) as (keyof TimeoutsMs)[];
const RETRY_FIELDS = Object.keys(DEFAULT_RETRY_POLICY) as (keyof RetryPolicy)[];

function firstDefined<T>(layers: readonly Loose[], field: string, fallback: T): T {
  for (const layer of layers) {
    if (layer[field] !== undefined) return layer[field] as T;
  }
  return fallback;
}

/** Merges timeout layers, highest precedence first, field by field onto Sluice's defaults. */
function mergeTimeouts(layers: readonly Loose[]): TimeoutsMs {
  const out = { ...DEFAULT_TIMEOUTS_MS };
  for (const field of TIMEOUT_FIELDS) out[field] = firstDefined(layers, field, out[field]);
  return out;
}

/** Merges retry layers like {@link mergeTimeouts}; `retryOn` is replaced whole, not merged. */
function mergeRetry(layers: readonly Loose[]): RetryPolicy {
  const out: RetryPolicy = { ...DEFAULT_RETRY_POLICY, retryOn: [...DEFAULT_RETRY_POLICY.retryOn] };
  for (const field of RETRY_FIELDS) {
    const value = firstDefined<unknown>(layers, field, out[field]);
    (out as unknown as Loose)[field] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}

const setsDelays = (layer: Loose) =>
  layer.baseDelayMs !== undefined || layer.maxDelayMs !== undefined;

/**
 * Backoff grows from baseDelayMs up to maxDelayMs, so base above max is a mistake. The layers
 * are highest first with their paths; the issue goes to the highest layer that sets either
 * field, which is where the user has to change something.
 */
function checkRetry(
  retry: RetryPolicy,
  layers: readonly { path: IssuePath; retry: Loose }[],
  issues: IssueList,
): void {
  if (typeof retry.baseDelayMs !== 'number' || typeof retry.maxDelayMs !== 'number') return;
  if (retry.baseDelayMs <= retry.maxDelayMs) return;
  const culprit = layers.find((layer) => setsDelays(layer.retry));
  if (!culprit) return;
  issues.add(
    [...culprit.path, 'baseDelayMs'],
    `is above maxDelayMs (${retry.maxDelayMs}) once precedence is applied`,
    'lower baseDelayMs or raise maxDelayMs',
    retry.baseDelayMs,
  );
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
  const descriptor = descriptorForInstance(name, raw, context);
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
  if (!endpoint) return undefined;

  return secretSafe<ResolvedInstance>({
    name,
    provider: descriptor,
    url: endpoint.url,
    endpointName: endpoint.endpointName,
    ...key,
    headers: normalizeHeaders(descriptor.headers, raw.headers),
    maxConcurrency:
      typeof raw.maxConcurrency === 'number' ? raw.maxConcurrency : descriptor.maxConcurrency,
    budget,
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
        `names no route; routes: ${listNames(others)}${didYouMean(fallback, others)}`,
        'name another key of `routes`',
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
      issues: redactIssues(dedupe(issues.items), collectSecrets(config)),
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
