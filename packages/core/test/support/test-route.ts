import type { ResolvedRoute } from '../../src/config/resolved-route.js';
import type { ProviderDescriptor, RetryPolicy, TimeoutsMs } from '../../src/descriptor/types.js';
import type { ChatEvent } from '../../src/events/chat-events.js';
import type { SessionRef } from '../../src/pipeline/types.js';
import type { ModelResponse, RequestContext } from '../../src/pipeline/types.js';
import type { SluiceEvent } from '../../src/router/router-events.js';

/** A test API key: long enough to be redacted, recognisable in a leak. */
export const TEST_API_KEY = 'sk-test-0123456789abcdef-SECRET';

/** A minimal openai-chat descriptor, hand-built so middleware tests need no config area. */
export function testDescriptor(overrides: Partial<ProviderDescriptor> = {}): ProviderDescriptor {
  return {
    id: 'testprov',
    displayName: 'Test provider',
    aliases: [],
    wireFormat: 'openai-chat',
    endpoints: { default: 'http://127.0.0.1:9/v1' },
    defaultEndpoint: 'default',
    auth: { type: 'bearer', envVars: ['TEST_API_KEY'] },
    catalog: [],
    maxConcurrency: 1,
    budgetScope: 'instance',
    timeouts: {},
    retry: {},
    ...overrides,
  };
}

/** A resolved route with test defaults; timeouts and retry merge field by field. */
export function testRoute(
  overrides: Omit<Partial<ResolvedRoute>, 'timeouts' | 'retry'> & {
    timeouts?: Partial<TimeoutsMs>;
    retry?: Partial<RetryPolicy>;
  } = {},
): ResolvedRoute {
  const { timeouts, retry, ...rest } = overrides;
  return {
    name: 'main',
    instance: 'testprov',
    provider: testDescriptor(),
    model: 'test-model',
    modelInfo: undefined,
    url: 'http://127.0.0.1:9/v1/chat/completions',
    endpointName: 'default',
    apiKey: TEST_API_KEY,
    apiKeySource: 'literal',
    apiKeyEnvTried: [],
    headers: {},
    maxConcurrency: 1,
    budgetKey: `test:${Math.random().toString(36).slice(2)}`,
    timeouts: { queueMs: 0, headersMs: 0, firstTokenMs: 0, idleMs: 0, totalMs: 0, ...timeouts },
    retry: {
      maxAttempts: 1,
      baseDelayMs: 100,
      maxDelayMs: 1_000,
      maxServerWaitMs: 60_000,
      retryOn: ['rate-limit', 'overloaded', 'timeout', 'network', 'server'],
      ...retry,
    },
    fallbacks: [],
    providerOptions: {},
    ...rest,
  };
}

/** A request context over `route`, collecting emitted events in `events`. */
export function testContext(
  route: ResolvedRoute,
  options: { signal?: AbortSignal; session?: SessionRef; priority?: number } = {},
): RequestContext & { events: SluiceEvent[] } {
  const events: SluiceEvent[] = [];
  return {
    requestId: 'req-1',
    request: { messages: [{ role: 'user', content: 'hi' }] },
    route,
    session: options.session,
    priority: options.priority ?? 0,
    signal: options.signal ?? new AbortController().signal,
    attempt: 1,
    emit: (event) => events.push(event),
    state: new Map(),
    events,
  };
}

/** One step of a scripted body: an event, a thrown error, or a pause in ms. */
export type ScriptStep = ChatEvent | { throw: unknown } | { waitMs: number } | { hang: true };

/** A ModelResponse whose body plays `script`, recording how it ended. */
export function scriptedResponse(script: ScriptStep[]): ModelResponse & {
  cancelled: unknown[];
  ended: boolean;
} {
  const cancelled: unknown[] = [];
  let release: (() => void) | undefined;
  const state = { ended: false };
  const response = {
    status: 200,
    headers: new Headers(),
    cancelled,
    get ended() {
      return state.ended;
    },
    events: (async function* () {
      try {
        for (const step of script) {
          if ('throw' in step) throw step.throw;
          // A cancel ends a pause at once, as a cancelled fetch body ends a pending read.
          if ('waitMs' in step) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, step.waitMs);
              release = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            if (cancelled.length > 0) return;
            continue;
          }
          if ('hang' in step) {
            await new Promise<void>((resolve) => (release = resolve));
            return;
          }
          if (cancelled.length > 0) return;
          yield step;
        }
      } finally {
        state.ended = true;
      }
    })(),
    cancel(reason?: unknown) {
      cancelled.push(reason);
      release?.();
    },
  };
  return response;
}

/** `text-delta` shorthand. */
export const text = (value: string): ChatEvent => ({ type: 'text-delta', text: value });

/** A `finish` event with reason `stop`. */
export const stop: ChatEvent = { type: 'finish', reason: 'stop', rawReason: 'stop' };

/** A `start` event of `attempt`. */
export const start = (attempt = 1, route = 'main'): ChatEvent => ({
  type: 'start',
  attempt,
  route,
});
