import { z } from 'zod';
import { routeConfigSchema } from './route-config-schema.js';

/**
 * The route config as a JSON Schema (draft 2020-12), for editor completion and checks in
 * `sluice.config.json` (point its `$schema` at a file holding this). Inline descriptors are
 * functions and cannot be described in JSON, so `descriptor` accepts anything there;
 * `resolveConfig` remains the full check (references, endpoints, security).
 */
export function routeConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(routeConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}
