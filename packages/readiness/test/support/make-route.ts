import type {
  Budget,
  BudgetEventMap,
  ModelInfo,
  ProviderDescriptor,
  ResolvedRoute,
  SluiceEvent,
} from '@sluice/core';

/** An API key value that must never appear in any output. */
export const SECRET_KEY = 'sk-test-SECRET-9f8e7d6c5b4a3210';

export const GLM_46: ModelInfo = {
  id: 'glm-4.6',
  displayName: 'GLM-4.6',
  contextWindow: 200_000,
  maxOutputTokens: 128_000,
  capabilities: { reasoning: true, tools: true, vision: false, streaming: true },
};

export const GLM_45_AIR: ModelInfo = {
  id: 'glm-4.5-air',
  contextWindow: 128_000,
  maxOutputTokens: 96_000,
  capabilities: { reasoning: true, tools: true },
};

/** A small GLM-like descriptor for tests. */
export function testDescriptor(overrides: Partial<ProviderDescriptor> = {}): ProviderDescriptor {
  return {
    id: 'zhipu',
    displayName: 'Zhipu GLM',
    aliases: ['glm'],
    wireFormat: 'openai-chat',
    endpoints: { coding: 'https://open.bigmodel.cn/api/coding/paas/v4' },
    defaultEndpoint: 'coding',
    auth: { type: 'bearer', envVars: ['ZHIPU_API_KEY', 'ZAI_API_KEY'] },
    catalog: [GLM_46, GLM_45_AIR],
    maxConcurrency: 3,
    budgetScope: 'instance',
    timeouts: {},
    retry: {},
    ...overrides,
  };
}

/** A resolved route as `resolveConfig` would give it, with the test key set. */
export function makeRoute(overrides: Partial<ResolvedRoute> = {}): ResolvedRoute {
  const provider = overrides.provider ?? testDescriptor();
  const model = overrides.model ?? 'glm-4.6';
  return {
    name: 'default',
    instance: 'glm',
    provider,
    model,
    modelInfo: provider.catalog.find((info) => info.id === model),
    url: 'https://open.bigmodel.cn/api/coding/paas/v4/chat/completions',
    endpointName: 'coding',
    apiKey: SECRET_KEY,
    apiKeySource: 'env:ZHIPU_API_KEY',
    apiKeyEnvTried: [],
    headers: {},
    maxConcurrency: 3,
    budgetKey: 'glm:a1b2c3d4e5f6',
    timeouts: {
      queueMs: 0,
      headersMs: 45_000,
      firstTokenMs: 0,
      idleMs: 300_000,
      totalMs: 1_800_000,
    },
    retry: {
      maxAttempts: 4,
      baseDelayMs: 500,
      maxDelayMs: 8000,
      maxServerWaitMs: 60_000,
      retryOn: ['rate-limit'],
    },
    fallbacks: [],
    providerOptions: {},
    ...overrides,
  };
}

type Base = Pick<SluiceEvent, 'requestId' | 'route' | 'instance' | 'providerId' | 'budgetKey'>;

/** Builds telemetry events for one route, numbering requests. */
export function eventsFor(route: ResolvedRoute) {
  let next = 0;
  const base = (requestId: string): Base => ({
    requestId,
    route: route.name,
    instance: route.instance,
    providerId: route.provider.id,
    budgetKey: route.budgetKey,
  });
  return {
    /** A whole successful request: start, lease, first token, end. */
    success(at: number, { ttftMs = 300, waitedMs = 0 } = {}): SluiceEvent[] {
      const id = `r${++next}`;
      return [
        { ...base(id), type: 'request-start', attempt: 1, time: at },
        { ...base(id), type: 'lease-acquired', attempt: 1, waitedMs, time: at + waitedMs },
        { ...base(id), type: 'first-token', attempt: 1, ttftMs, time: at + waitedMs + ttftMs },
        { ...base(id), type: 'lease-released', attempt: 1, heldMs: ttftMs + 50, time: at + 400 },
        {
          ...base(id),
          type: 'request-end',
          attempts: 1,
          outcome: 'success',
          durationMs: 400,
          waitedMs,
          ttftMs,
          time: at + 400,
        },
      ];
    },
    /** A failed request (after `retries` retry events of the same kind). */
    failure(
      at: number,
      kind: string,
      { retries = 0, providerCode, message = `request failed: ${kind}`, status = 500 } = {} as {
        retries?: number;
        providerCode?: string;
        message?: string;
        status?: number;
      },
    ): SluiceEvent[] {
      const id = `r${++next}`;
      const out: SluiceEvent[] = [{ ...base(id), type: 'request-start', attempt: 1, time: at }];
      for (let attempt = 1; attempt <= retries; attempt++) {
        out.push({
          ...base(id),
          type: 'retry',
          attempt,
          kind: kind as never,
          delayMs: 100,
          status,
          providerCode,
          time: at + attempt,
        });
      }
      out.push({
        ...base(id),
        type: 'request-end',
        attempts: retries + 1,
        outcome: 'failure',
        durationMs: 10,
        waitedMs: 0,
        error: {
          kind: kind as never,
          code: `SLUICE_${kind.toUpperCase().replace(/-/g, '_')}`,
          message,
          status,
          providerCode,
        },
        time: at + retries + 1,
      });
      return out;
    },
    /** A rate-limit retry that later succeeds. */
    rateLimitedThenOk(at: number, providerCode = '1302'): SluiceEvent[] {
      const id = `r${++next}`;
      return [
        { ...base(id), type: 'request-start', attempt: 1, time: at },
        {
          ...base(id),
          type: 'retry',
          attempt: 1,
          kind: 'rate-limit',
          delayMs: 500,
          status: 429,
          providerCode,
          time: at + 5,
        },
        {
          ...base(id),
          type: 'request-end',
          attempts: 2,
          outcome: 'success',
          durationMs: 900,
          waitedMs: 0,
          ttftMs: 250,
          time: at + 900,
        },
      ];
    },
    cooldown(at: number, untilMs: number, reason = 'rate limit 1302'): SluiceEvent {
      return { ...base(`c${++next}`), type: 'cooldown', untilMs, reason, time: at };
    },
    queued(at: number, requestId = `q${++next}`): SluiceEvent {
      return { ...base(requestId), type: 'queued', attempt: 1, time: at };
    },
    cancelled(at: number): SluiceEvent[] {
      const id = `r${++next}`;
      return [
        { ...base(id), type: 'request-start', attempt: 1, time: at },
        {
          ...base(id),
          type: 'request-end',
          attempts: 1,
          outcome: 'cancelled',
          durationMs: 5,
          waitedMs: 0,
          time: at + 5,
        },
      ];
    },
  };
}

/** A budget with fixed counts, for projections that read live budget state. */
export function fixedBudget(
  key: string,
  counts: { limit: number; active: number; pending: number; cooldownUntil?: number },
): Budget {
  return {
    key,
    backend: 'memory',
    limit: counts.limit,
    active: counts.active,
    pending: counts.pending,
    cooldownUntil: counts.cooldownUntil ?? 0,
    acquire: () => Promise.reject(new Error('fixed budget: acquire is not used in this test')),
    resize: () => undefined,
    cooldown: () => undefined,
    onIdle: () => Promise.resolve(),
    on:
      <E extends keyof BudgetEventMap>(_event: E, _listener: (p: BudgetEventMap[E]) => void) =>
      () =>
        undefined,
  };
}
