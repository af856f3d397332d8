import { z } from 'zod';
import type { SluiceErrorKind } from '../errors/sluice-error.js';
import { DEFAULT_CHAT_PATH } from './defaults.js';
import type {
  ClassifyInput,
  Classification,
  FinishMapping,
  ModelInfo,
  ProviderAuth,
  ProviderDescriptor,
  RetryPolicy,
  TimeoutsMs,
  TransformContext,
} from './types.js';

// A record rather than an array so that adding a kind to SluiceErrorKind without listing it here
// fails to compile.
const KIND_SET: Record<SluiceErrorKind, true> = {
  'rate-limit': true,
  overloaded: true,
  timeout: true,
  network: true,
  server: true,
  auth: true,
  'bad-request': true,
  billing: true,
  quota: true,
  'content-filter': true,
  'context-length': true,
  'model-not-found': true,
  provider: true,
  truncated: true,
  'mid-stream': true,
  aborted: true,
  'queue-timeout': true,
  'budget-unavailable': true,
  config: true,
  unknown: true,
};

/** Every {@link SluiceErrorKind}, for validating `retry.retryOn`. */
export const SLUICE_ERROR_KINDS = Object.freeze(
  Object.keys(KIND_SET),
) as readonly SluiceErrorKind[];

/** A whole number of milliseconds, 0 or more (0 turns a deadline off). */
const msSchema = z.number().int().min(0);

/** Partial phase deadlines, as a descriptor, provider instance, route or config-wide block sets them. */
export const timeoutsSchema = z.strictObject({
  queueMs: msSchema.optional(),
  headersMs: msSchema.optional(),
  firstTokenMs: msSchema.optional(),
  idleMs: msSchema.optional(),
  totalMs: msSchema.optional(),
}) satisfies z.ZodType<Partial<TimeoutsMs>>;

/** A partial retry policy, as a descriptor, provider instance, route or config-wide block sets it. */
export const retryPolicySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).optional(),
  baseDelayMs: msSchema.optional(),
  maxDelayMs: msSchema.optional(),
  maxServerWaitMs: msSchema.optional(),
  retryOn: z
    .array(z.enum(SLUICE_ERROR_KINDS as [SluiceErrorKind, ...SluiceErrorKind[]]))
    .optional(),
}) satisfies z.ZodType<Partial<RetryPolicy>>;

/**
 * Extra request headers: RFC 9110 token names, values without CR or LF (a value carrying a line
 * break would otherwise fail inside fetch, far from the config that caused it).
 */
export const headersSchema = z.record(
  z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, {
    message: "a header name has only letters, digits and !#$%&'*+.^_`|~-",
  }),
  z.string().regex(/^[^\r\n\0]*$/, { message: 'must not contain line breaks' }),
);

/** `maxConcurrency`: a whole number, 0 or more; 0 means no client-side cap (still counted). */
export const maxConcurrencySchema = z.number().int().min(0);

function isFunction(value: unknown): boolean {
  return typeof value === 'function';
}

const fn = <T>() => z.custom<T>(isFunction, { message: 'must be a function' });

const modelInfoSchema = z.strictObject({
  id: z.string().min(1),
  aliases: z.array(z.string().min(1)).optional(),
  displayName: z.string().optional(),
  contextWindow: z.number().int().positive(),
  maxOutputTokens: z.number().int().positive(),
  capabilities: z
    .strictObject({
      reasoning: z.boolean().optional(),
      tools: z.boolean().optional(),
      vision: z.boolean().optional(),
      streaming: z.boolean().optional(),
    })
    .default({}),
  plans: z.array(z.string()).optional(),
}) satisfies z.ZodType<ModelInfo, unknown>;

const authSchema = z
  .strictObject({
    type: z.enum(['bearer', 'none']).default('bearer'),
    envVars: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]),
    header: z.string().min(1).optional(),
    credential:
      fn<
        (
          apiKey: string,
          nowMs: number,
          context: { providerOptions: Record<string, unknown> },
        ) => string
      >().optional(),
  })
  .default({ type: 'bearer', envVars: [] }) satisfies z.ZodType<ProviderAuth, unknown>;

const baseUrlSchema = z.string().refine(isHttpUrl, { message: 'must be an http(s) URL' });

/** True for a string that parses as an `http:` or `https:` URL. */
export function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const protocol = new URL(value).protocol;
  return protocol === 'https:' || protocol === 'http:';
}

/**
 * The zod schema of a {@link ProviderDescriptor}. Parsing fills the defaults: `displayName` = id,
 * `aliases` [], `wireFormat` `openai-chat`, `defaultEndpoint` = the first endpoint, `chatPath`
 * `/chat/completions`, bearer auth with no env vars, empty catalog, `maxConcurrency` 0 (no
 * client-side cap), `budgetScope` `instance`, empty timeouts and retry (Sluice defaults apply at
 * resolution). Unknown keys are rejected; functions are checked to be functions only.
 */
export const providerDescriptorSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    displayName: z.string().min(1).optional(),
    aliases: z.array(z.string().min(1)).default([]),
    wireFormat: z.literal('openai-chat').default('openai-chat'),
    endpoints: z
      .record(z.string().min(1), baseUrlSchema)
      .refine((value) => Object.keys(value).length > 0, {
        message: 'must name at least one endpoint',
      }),
    defaultEndpoint: z.string().min(1).optional(),
    chatPath: z.string().startsWith('/').optional(),
    auth: authSchema,
    headers: headersSchema.optional(),
    catalog: z.array(modelInfoSchema).default([]),
    defaultModel: z.string().min(1).optional(),
    maxConcurrency: maxConcurrencySchema.default(0),
    budgetScope: z.enum(['instance', 'model']).default('instance'),
    timeouts: timeoutsSchema.default({}),
    retry: retryPolicySchema.default({}),
    classify: fn<(input: ClassifyInput) => Classification | undefined>().optional(),
    mapFinishReason: fn<(rawReason: string) => FinishMapping | undefined>().optional(),
    transformRequest:
      fn<
        (body: Record<string, unknown>, context: TransformContext) => Record<string, unknown>
      >().optional(),
  })
  .superRefine((value, context) => {
    if (value.defaultEndpoint !== undefined && !(value.defaultEndpoint in value.endpoints)) {
      context.addIssue({
        code: 'custom',
        path: ['defaultEndpoint'],
        message: `names no endpoint; endpoints are: ${Object.keys(value.endpoints).join(', ')}`,
        input: value.defaultEndpoint,
      });
    }
  })
  .transform((value): ProviderDescriptor => ({
    ...value,
    displayName: value.displayName ?? value.id,
    defaultEndpoint: value.defaultEndpoint ?? Object.keys(value.endpoints)[0] ?? '',
    chatPath: value.chatPath ?? DEFAULT_CHAT_PATH,
  }));

/** What {@link defineProvider} accepts: a descriptor with its defaulted fields optional. */
export type ProviderDescriptorInput = z.input<typeof providerDescriptorSchema>;

// Compile-time proof that parsing yields exactly the ProviderDescriptor contract.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _parsesToDescriptor: Exact<
  z.output<typeof providerDescriptorSchema>,
  ProviderDescriptor
> = true;
void _parsesToDescriptor;
