// Public exports of the config area: the route config schema, defineConfig, resolveConfig,
// loadConfig and ConfigError.
export { ConfigError, formatConfigIssues } from './config-error.js';
export type { ConfigErrorOptions, ConfigIssue } from './config-error.js';
export { routeConfigSchema } from './route-config-schema.js';
export type {
  AdaptiveConfig,
  BudgetConfig,
  ProviderInstanceConfig,
  RouteConfig,
  RouteDefinition,
} from './route-config-schema.js';
export { defineConfig } from './define-config.js';
export {
  credentialFingerprint,
  looksLikePackageName,
  packageNameOf,
  resolveConfig,
  tagDescriptorPackage,
} from './resolve-config.js';
export type {
  PackageLoadFailure,
  ResolveConfigOptions,
  ResolvedConfig,
  ResolvedInstance,
} from './resolve-config.js';
export type { ResolvedAdaptive, ResolvedBudget } from './resolved-route.js';
export { isLoopbackHost } from './is-loopback-host.js';
export { CONFIG_FILE_NAMES, findConfigFile, loadConfig } from './load-config.js';
export type { LoadConfigOptions, LoadedConfig } from './load-config.js';
export { routeConfigJsonSchema } from './route-config-json-schema.js';
export { closestName } from './closest-name.js';
