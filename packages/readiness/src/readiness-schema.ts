import { z } from 'zod';

/**
 * The states a route can be in, from worst to best. {@link READINESS_STATE_PRECEDENCE} says which
 * one wins when several apply.
 */
export const readinessStateSchema = z
  .enum([
    'invalid-route',
    'missing-credential',
    'failing',
    'degraded',
    'ready',
    'model-not-in-catalog',
    'not-checked',
  ])
  .describe('Readiness of one route; see READINESS_STATE_PRECEDENCE for which state wins.');

/** One of the states of {@link readinessStateSchema}. */
export type ReadinessState = z.infer<typeof readinessStateSchema>;

/**
 * Which state a route shows when several apply: the first one in this list that applies wins.
 * Config problems come first, since no request can succeed while they stand; then live evidence
 * (failing, then degraded, then ready); the catalog warning and "not checked" only speak when
 * there is no live evidence at all.
 */
export const READINESS_STATE_PRECEDENCE: readonly ReadinessState[] = readinessStateSchema.options;

const nullableMs = z.number().nonnegative().nullable();

/** Catalog facts of a route's model, or null when the model is not in the provider's catalog. */
export const catalogFactsSchema = z.object({
  modelId: z.string(),
  displayName: z.string().nullable(),
  contextWindow: z.number().int().nonnegative().describe('Tokens.'),
  maxOutputTokens: z.number().int().nonnegative().describe('Tokens.'),
  capabilities: z.object({
    reasoning: z.boolean(),
    tools: z.boolean(),
    vision: z.boolean(),
    streaming: z.boolean(),
  }),
});

/** Catalog facts of one model as readiness reports them. */
export type CatalogFacts = z.infer<typeof catalogFactsSchema>;

/** The budget one route draws from, as seen at snapshot time. */
export const budgetGaugeSchema = z.object({
  key: z.string().describe('Budget key: provider instance + credential fingerprint.'),
  backend: z.string().describe('memory, ipc, socket, redis; "events" when counted from telemetry.'),
  active: z.number().int().nonnegative().describe('Leases held now (requests in flight).'),
  limit: z.number().int().nonnegative().describe('In-flight cap; 0 means no client-side cap.'),
  queued: z.number().int().nonnegative().describe('Requests waiting for a lease now.'),
  cooldownRemainingMs: z.number().nonnegative(),
  cooldownReason: z.string().nullable(),
  leaseWaitP50Ms: nullableMs,
  leaseWaitP95Ms: nullableMs,
  health: z
    .object({
      state: z.enum(['ok', 'degraded', 'down']),
      detail: z.string().nullable(),
    })
    .nullable()
    .describe(
      'Health of a shared backend (Redis, a parent over IPC or a socket broker); null for an in-process budget.',
    ),
  adaptive: z
    .object({
      min: z.number().int().positive(),
      max: z.number().int().positive(),
      lastReason: z
        .string()
        .nullable()
        .describe('Why the limit last changed, e.g. "1302 rate limit from glm".'),
      history: z
        .array(
          z.object({
            at: z.number().describe('Epoch ms.'),
            limit: z.number().int(),
            previous: z.number().int(),
            reason: z.string(),
          }),
        )
        .describe('The latest limit changes, oldest first (at most 50).'),
    })
    .optional()
    .describe('Present when the budget has an adaptive limit; `limit` is then the effective one.'),
});

/** Budget gauges of one budget key. */
export type BudgetGauge = z.infer<typeof budgetGaugeSchema>;

/** The last failure seen on a route. */
export const lastErrorSchema = z.object({
  kind: z.string(),
  code: z.string(),
  message: z.string(),
  status: z.number().int().nullable(),
  providerCode: z.string().nullable(),
  at: z.number().describe('Epoch ms.'),
});

/** The last failure seen on a route. */
export type LastError = z.infer<typeof lastErrorSchema>;

/** Recent outcomes of a route, from a bounded window of its latest requests. */
export const recentOutcomesSchema = z.object({
  requests: z.number().int().nonnegative().describe('Finished requests in the window.'),
  successes: z.number().int().nonnegative(),
  failures: z.number().int().nonnegative(),
  ttftP50Ms: nullableMs,
  ttftP95Ms: nullableMs,
  failuresByKind: z
    .record(z.string(), z.number().int().nonnegative())
    .describe(
      'Failed requests (after every retry and fallback) by error kind; the counts sum to `failures`.',
    ),
  failedAttemptsByKind: z
    .record(z.string(), z.number().int().nonnegative())
    .describe(
      'Failed attempts by error kind: every retried attempt, every fallback away from the route and every final failure.',
    ),
  lastError: lastErrorSchema.nullable(),
  lastSuccessAt: z.number().nullable().describe('Epoch ms.'),
});

/** Recent outcomes of one route. */
export type RecentOutcomes = z.infer<typeof recentOutcomesSchema>;

/** Readiness of one route. */
export const routeReadinessSchema = z.object({
  name: z.string(),
  isDefault: z.boolean(),
  instance: z.string().nullable(),
  providerId: z.string().nullable(),
  endpoint: z.string().nullable().describe('Chat URL without credentials or secret parameters.'),
  model: z.string().nullable(),
  fallbacks: z.array(z.string()),
  catalog: catalogFactsSchema.nullable(),
  budget: budgetGaugeSchema.nullable(),
  recent: recentOutcomesSchema,
  state: readinessStateSchema,
  reason: z.string().describe('Why the route is in this state, in one sentence.'),
  fix: z.string().nullable().describe('What to do about it; null when nothing is needed.'),
});

/** Readiness of one route. */
export type RouteReadiness = z.infer<typeof routeReadinessSchema>;

/** Budget gauges of one provider budget (one budget key), shared by all its routes. */
export const providerGaugeSchema = budgetGaugeSchema.extend({
  instance: z.string().nullable(),
  providerId: z.string().nullable(),
  displayName: z.string().nullable(),
  routes: z.array(z.string()),
});

/** Budget gauges of one provider budget. */
export type ProviderGauge = z.infer<typeof providerGaugeSchema>;

/** One sample of the in-flight/queued chart. */
export const historySampleSchema = z.object({
  at: z.number().describe('Epoch ms.'),
  active: z.number().int().nonnegative(),
  queued: z.number().int().nonnegative(),
  byBudget: z.record(
    z.string(),
    z.object({ active: z.number().int().nonnegative(), queued: z.number().int().nonnegative() }),
  ),
});

/** One sample of the in-flight/queued chart. */
export type HistorySample = z.infer<typeof historySampleSchema>;

/**
 * One session of a fleet's session tree, as the dashboard shows it. Fleets map their own session
 * objects onto this shape; every count is optional.
 */
export interface ReadinessSession {
  id: string;
  name: string;
  state?: string | undefined;
  priority?: number | undefined;
  requests?: number | undefined;
  inFlight?: number | undefined;
  queued?: number | undefined;
  failures?: number | undefined;
  tokens?: number | undefined;
  leaseWaitMs?: number | undefined;
  children: ReadinessSession[];
}

/** Schema of {@link ReadinessSession}; recursive through `children`. */
export const readinessSessionSchema: z.ZodType<ReadinessSession> = z
  .object({
    id: z.string(),
    name: z.string(),
    state: z.string().optional(),
    priority: z.number().optional(),
    requests: z.number().int().nonnegative().optional(),
    inFlight: z.number().int().nonnegative().optional(),
    queued: z.number().int().nonnegative().optional(),
    failures: z.number().int().nonnegative().optional(),
    tokens: z.number().int().nonnegative().optional(),
    leaseWaitMs: z.number().nonnegative().optional(),
    get children() {
      return z.array(readinessSessionSchema);
    },
  })
  .meta({ id: 'ReadinessSession' });

/** The published shape of `sluice check --json`, `/readiness.json` and the dashboard's SSE data. */
export const readinessSnapshotSchema = z
  .object({
    schemaVersion: z.literal(1),
    generatedAt: z.number().describe('Epoch ms.'),
    defaultRoute: z.string().nullable(),
    routes: z.array(routeReadinessSchema),
    providers: z.array(providerGaugeSchema),
    history: z.object({
      windowMs: z.number().int().positive(),
      sampleIntervalMs: z.number().int().positive(),
      samples: z.array(historySampleSchema),
    }),
    sessions: z.array(readinessSessionSchema).nullable(),
  })
  .describe(
    'Sluice readiness snapshot: which routes will work now, and how loaded each provider is.',
  );

/** A whole readiness snapshot. */
export type ReadinessSnapshot = z.infer<typeof readinessSnapshotSchema>;

/**
 * The JSON Schema (draft 2020-12) of {@link readinessSnapshotSchema}. The same document is
 * published as `readiness.schema.json` in the package; a test keeps the two in sync.
 */
export function readinessJSONSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(readinessSnapshotSchema, { target: 'draft-2020-12' });
  return {
    $schema,
    $id: 'https://sluice.invalid/schemas/readiness.schema.json',
    title: 'SluiceReadinessSnapshot',
    ...rest,
  };
}
