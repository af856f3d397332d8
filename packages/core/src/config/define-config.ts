import type { RouteConfig } from './route-config-schema.js';

/**
 * Returns `config` unchanged. It exists for editor help in `sluice.config.ts` (types and JSDoc on
 * every field); validation happens in {@link resolveConfig}, which reports every problem at once.
 * @example
 * export default defineConfig({
 *   providers: { glm: { use: '@sluice/provider-zhipu', apiKey: 'env:ZHIPU_API_KEY' } },
 *   routes: { default: { provider: 'glm', model: 'glm-4.6' } },
 * });
 */
export function defineConfig(config: RouteConfig): RouteConfig {
  return config;
}
