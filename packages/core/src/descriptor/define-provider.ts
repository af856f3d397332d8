import { ConfigError } from '../config/config-error.js';
import type { ConfigIssue } from '../config/config-error.js';
import { collectSecrets, redactIssues, zodIssuesToConfigIssues } from '../config/config-issues.js';
import type { IssuePath } from '../config/config-issues.js';
import { providerDescriptorSchema } from './provider-descriptor-schema.js';
import type { ProviderDescriptorInput } from './provider-descriptor-schema.js';
import type { ProviderDescriptor } from './types.js';

/**
 * Validates a descriptor and returns its issues (empty when valid) along with the parsed
 * descriptor. Paths are prefixed with `prefix`, e.g. `providers.x.descriptor`.
 */
export function checkProviderDescriptor(
  input: unknown,
  prefix: IssuePath = [],
): { descriptor: ProviderDescriptor | undefined; issues: ConfigIssue[] } {
  const result = providerDescriptorSchema.safeParse(input, { reportInput: true });
  if (result.success) return { descriptor: result.data, issues: [] };
  const issues = zodIssuesToConfigIssues(result.error.issues, {
    schema: providerDescriptorSchema,
    input,
    prefix,
  });
  return { descriptor: undefined, issues: redactIssues(issues, collectSecrets(input)) };
}

/**
 * Declares a provider: validates `input` against {@link providerDescriptorSchema} and fills the
 * defaults (display name = id, first endpoint as default, `/chat/completions`, bearer auth,
 * `maxConcurrency` 0 = no client-side cap, budget per instance + credential). Timeouts and retry
 * stay partial: Sluice's defaults apply when a route is resolved, below config-wide settings.
 *
 * @throws {ConfigError} listing every invalid field with its path and a fix.
 * @example
 * export const provider = defineProvider({
 *   id: 'acme',
 *   endpoints: { default: 'https://api.acme.example/v1' },
 *   auth: { type: 'bearer', envVars: ['ACME_API_KEY'] },
 *   maxConcurrency: 4,
 * });
 */
export function defineProvider(input: ProviderDescriptorInput): ProviderDescriptor {
  const { descriptor, issues } = checkProviderDescriptor(input);
  if (descriptor) return descriptor;
  const id = typeof input?.id === 'string' ? `"${input.id}"` : '(no id)';
  throw new ConfigError({ issues, subject: `provider descriptor ${id}` });
}
