import { defaultBudgetRegistry } from '../budget/budget-registry.js';
import type { BudgetRegistry } from '../budget/types.js';
import { resolveConfig, type ResolvedConfig } from '../config/resolve-config.js';
import type { ResolvedRoute } from '../config/resolved-route.js';
import { closestName } from '../config/closest-name.js';
import { SluiceError } from '../errors/sluice-error.js';
import { valueForMessage } from '../errors/value-for-message.js';
import type { ChatRequest } from '../events/chat-request.js';
import { ScopedRequestContext, type AbortScope } from '../pipeline/abort-scope.js';
import { createBudgetMiddleware } from '../pipeline/budget-middleware.js';
import { composeMiddleware } from '../pipeline/compose-middleware.js';
import { createAdaptiveMiddleware } from './adaptive-middleware.js';
import type { Next, RequestContext } from '../pipeline/types.js';
import { collectChatResult } from '../sse/collect-chat-result.js';
import { createTransport, type Transport } from '../transport/create-transport.js';
import { createTransportHandler } from '../transport/create-transport-handler.js';
import { createChatStream } from './create-chat-stream.js';
import { createRouterFetch } from './create-router-fetch.js';
import { createDeadlinesMiddleware } from './deadlines-middleware.js';
import { createFallbackMiddleware } from './fallback-middleware.js';
import { addWaitedMs } from './request-state.js';
import { routeBudgetRegistry } from './route-budgets.js';
import { createRetryMiddleware } from './retry-middleware.js';
import type { SluiceEvent } from './router-events.js';
import { createTelemetryMiddleware } from './telemetry-middleware.js';
import type {
  ChatOptions,
  ChatStream,
  Router,
  RouterFetchOptions,
  RouterOptions,
} from './types.js';

const REQUEST_PREFIX = Math.random().toString(36).slice(2, 8);

/**
 * Creates a router over a route config: `router.chat()` streams one answer through the pipeline,
 * `router.fetch()` gives SDKs a budgeted fetch.
 *
 * The pipeline, outermost first: telemetry (skipped while nobody subscribes),
 * `options.middleware`, fallback, retry, budget, adaptive limit (routes with `adaptive` only),
 * deadlines, transport. Retry sits outside the budget so each attempt takes its own lease and a
 * backoff sleep holds none; the deadlines sit inside it so the headers deadline counts from the
 * moment the request is sent, never from when it was queued.
 *
 * Budgets come from `options.budgets` (default: the process-wide registry), one per route budget
 * key, so routers for the same provider and credential share it; a provider instance whose config
 * puts its budget on another backend (`redis`) draws from `options.budgetBackends[backend]`.
 * Each provider instance gets its own keep-alive pool sized to its `maxConcurrency`, created on
 * first use.
 *
 * @throws ConfigError when the config is invalid, with every problem, its path and its fix, or
 *   when a provider instance's budget backend is not in `options.budgetBackends`.
 */
export function createRouter(options: RouterOptions): Router {
  checkRouterOptions(options);
  const config = resolveConfig(options.config, {
    ...(options.providers ? { providers: options.providers } : {}),
    ...(options.packages ? { packages: options.packages } : {}),
    ...(options.packageFailures ? { packageFailures: options.packageFailures } : {}),
    ...(options.file === undefined ? {} : { file: options.file }),
    ...(options.env ? { env: options.env } : {}),
  });
  const budgets = routeBudgetRegistry(
    config,
    options.budgets ?? defaultBudgetRegistry(),
    options.budgetBackends,
  );
  // The router's limits hold while it is open: a closed router's stricter limit stops holding
  // back the routers that share its budgets.
  const withdrawals = declareLimits(config, budgets);
  const transports = new Map<string, Transport>();
  const listeners = new Set<(event: SluiceEvent) => void>();
  const open = new Set<ChatStream>();
  let requests = 0;
  let closed = false;

  const transportFor = (instance: string, connections: number): Transport => {
    let transport = transports.get(instance);
    if (!transport) {
      transport = createTransport({
        connections,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
      transports.set(instance, transport);
    }
    return transport;
  };

  const observed = () => listeners.size > 0;
  const publish = (event: SluiceEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A failing subscriber must not break the request that published the event.
      }
    }
  };

  const pipeline: Next = composeMiddleware(
    [
      createTelemetryMiddleware({ observed }),
      ...(options.middleware ?? []),
      createFallbackMiddleware({ resolveRoute: (name) => config.route(name) }),
      createRetryMiddleware({ budgets }),
      createBudgetMiddleware({ registry: budgets }),
      createAdaptiveMiddleware({ registry: budgets }),
      createDeadlinesMiddleware(),
    ],
    createTransportHandler({
      transportFor: (route) => transportFor(route.instance, instanceLimit(config, route)),
    }),
  );

  return {
    budgets,

    chat(request: ChatRequest, chatOptions: ChatOptions = {}): ChatStream {
      if (closed) throw closedError();
      checkChatRequest(request);
      checkChatOptions(chatOptions);
      const route = config.route(chatOptions.route);
      const stream: ChatStream = createChatStream({
        route: route.name,
        ...(chatOptions.signal ? { signal: chatOptions.signal } : {}),
        collect: (events) => collectChatResult(events, { route: route.name }),
        onEnd: () => open.delete(stream),
        open: (scope) => {
          open.add(stream);
          const context = createContext(`${REQUEST_PREFIX}-${++requests}`, request, route, {
            ...chatOptions,
            scope,
            publish,
            observed,
          });
          return pipeline(context);
        },
      });
      return stream;
    },

    fetch(instance: string, fetchOptions: RouterFetchOptions = {}): typeof fetch {
      const resolved = config.instances.get(instance);
      if (!resolved) {
        throw unknownInstance(instance, [...config.instances.keys()], config.routes.get(instance));
      }
      return createRouterFetch({
        budget: budgets.get(resolved.budgetKey, { limit: resolved.maxConcurrency }),
        transport: transportFor(instance, resolved.maxConcurrency),
        queueMs: resolved.timeouts.queueMs,
        session: fetchOptions.session,
        priority: fetchOptions.priority,
      });
    },

    route: (name?: string) => config.route(name),
    routes: () => [...config.routes.values()],

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close() {
      if (!closed) for (const withdraw of withdrawals) withdraw();
      closed = true;
      for (const stream of open) stream.cancel(closedError());
      open.clear();
      await Promise.all([...transports.values()].map((transport) => transport.close()));
      transports.clear();
    },
  };
}

function createContext(
  requestId: string,
  request: ChatRequest,
  route: ResolvedRoute,
  options: ChatOptions & {
    scope: AbortScope;
    publish: (event: SluiceEvent) => void;
    observed: () => boolean;
  },
): RequestContext {
  // Its signal is made on first read: the router's own layers listen on the scope.
  const context: RequestContext = new ScopedRequestContext(
    {
      requestId,
      request,
      route,
      session: options.session,
      priority: options.priority ?? options.session?.priority ?? 0,
      attempt: 1,
      state: new Map<string | symbol, unknown>(),
      observed: options.observed,
      emit(event) {
        if (event.type === 'lease-acquired') addWaitedMs(context, event.waitedMs);
        options.publish(event);
      },
    },
    options.scope,
  );
  return context;
}

const ROUTER_OPTIONS = [
  'config',
  'providers',
  'packages',
  'packageFailures',
  'file',
  'budgets',
  'budgetBackends',
  'fetch',
  'middleware',
  'env',
];

const HOW =
  'Pass createRouter({ config }), with config from defineConfig(), or createRouter(await loadConfig()).';

/**
 * Catches the ways `createRouter` is called wrong that would otherwise fail with a TypeError
 * from inside: the config passed bare instead of as `{ config }`, an unknown option, and
 * `providers`, `middleware` or `fetch` of the wrong type.
 */
function checkRouterOptions(options: unknown): void {
  const fail = (message: string, hint: string): never => {
    throw new SluiceError({
      kind: 'config',
      phase: 'config',
      message: `createRouter: ${message}`,
      hint,
    });
  };
  if (typeof options !== 'object' || options === null) {
    fail(`the options must be an object, got ${valueForMessage(options)}.`, HOW);
  }
  const given = options as Record<string, unknown>;
  if (given.config === undefined) {
    // createRouter(config): a route config has routes, and providers as an object.
    const bare =
      'routes' in given || (typeof given.providers === 'object' && !Array.isArray(given.providers));
    fail(bare ? 'got a route config where its options go.' : 'options.config is required.', HOW);
  }
  const unknown = unknownKey(given, ROUTER_OPTIONS);
  if (unknown) {
    fail(
      `unknown option "${unknown.key}"${unknown.didYouMean}.`,
      `The options are ${ROUTER_OPTIONS.join(', ')}.`,
    );
  }
  if (given.providers !== undefined && !Array.isArray(given.providers)) {
    fail(
      `options.providers must be an array of provider descriptors, got ${valueForMessage(given.providers)}.`,
      'Wrap it in an array: providers: [zhipu], or leave it out when the config names provider packages in use.',
    );
  }
  if (given.middleware !== undefined && !Array.isArray(given.middleware)) {
    fail(
      `options.middleware must be an array of middleware functions, got ${valueForMessage(given.middleware)}.`,
      'Pass middleware: [yourMiddleware], or leave it out.',
    );
  }
  if (given.fetch !== undefined && typeof given.fetch !== 'function') {
    fail(
      `options.fetch must be a fetch function, got ${valueForMessage(given.fetch)}.`,
      'Pass a fetch implementation, or leave it out for the built-in one.',
    );
  }
}

/** Declares the limit of every provider instance and route on its budget; returns the withdrawals. */
function declareLimits(config: ResolvedConfig, budgets: BudgetRegistry): Array<() => void> {
  const declare = budgets.declare?.bind(budgets);
  if (declare === undefined) return [];
  return [...config.instances.values(), ...config.routes.values()].map((holder) =>
    declare(holder.budgetKey, holder.maxConcurrency),
  );
}

/** The pool size of a route's instance: its limit, shared by every route and model on it. */
function instanceLimit(config: ResolvedConfig, route: ResolvedRoute): number {
  return config.instances.get(route.instance)?.maxConcurrency ?? route.maxConcurrency;
}

function unknownInstance(instance: string, known: string[], route?: ResolvedRoute): SluiceError {
  const near = route ? undefined : closestName(instance, known);
  return new SluiceError({
    kind: 'config',
    phase: 'config',
    message:
      `router.fetch: no provider instance "${instance}" in the config; known: ${known.join(', ') || 'none'}` +
      (route
        ? `. "${instance}" is a route; its provider instance is "${route.instance}".`
        : near
          ? ` (did you mean "${near}"?).`
          : '.'),
    hint: route
      ? `Pass router.fetch(${JSON.stringify(route.instance)}): a fetch draws from a provider instance's budget; the SDK names the model.`
      : 'Pass a key of `providers` in the route config.',
  });
}

function closedError(): SluiceError {
  return new SluiceError({
    kind: 'aborted',
    message: 'The router was closed; in-flight streams were cancelled.',
    hint: 'Create a new router to send more requests.',
  });
}

const CHAT_OPTIONS = ['route', 'session', 'signal', 'priority'];

/**
 * Catches options of `router.chat` that would fail later, or be ignored, as a bad-request at the
 * call: a misspelt key (the request would silently take the default route), a route name that is
 * not a string, a signal that is not an AbortSignal, a priority that is not a finite number.
 */
function checkChatOptions(options: unknown): void {
  const fail = (message: string, hint: string) => {
    throw new SluiceError({
      kind: 'bad-request',
      phase: 'config',
      message: `router.chat: ${message}`,
      hint,
    });
  };
  if (typeof options !== 'object' || options === null) {
    fail(
      `the options must be an object, got ${options === null ? 'null' : typeof options}.`,
      'Pass { route, session, signal, priority }, or nothing.',
    );
  }
  const given = options as Record<string, unknown>;
  const unknown = unknownKey(given, CHAT_OPTIONS);
  if (unknown) {
    fail(
      `unknown option "${unknown.key}"${unknown.didYouMean}.`,
      `The options are ${CHAT_OPTIONS.join(', ')}.`,
    );
  }
  const { route, signal, priority, session } = given;
  if (route !== undefined && typeof route !== 'string') {
    fail(
      `options.route must be a route name (a string), got ${typeof route}.`,
      'Pass the name of a route in the config.',
    );
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    fail(
      `options.signal must be an AbortSignal, got ${typeof signal === 'object' && signal !== null ? 'an object without the AbortSignal interface' : valueForMessage(signal)}.`,
      'Pass controller.signal of an AbortController, or AbortSignal.timeout(ms).',
    );
  }
  if (priority !== undefined && !(typeof priority === 'number' && Number.isFinite(priority))) {
    fail(
      `options.priority must be a finite number, got ${String(priority)}.`,
      "Higher goes first; the default is the session's priority, else 0.",
    );
  }
  if (session !== undefined) {
    const ref = session as { id?: unknown; priority?: unknown; share?: unknown } | null;
    if (typeof ref !== 'object' || ref === null || typeof ref.id !== 'string' || ref.id === '') {
      fail(
        'options.session must be { id: string, priority?, share? }.',
        'Pass a session of the fleet, or { id } of your own.',
      );
    }
    const sessionPriority = ref!.priority;
    if (
      sessionPriority !== undefined &&
      !(typeof sessionPriority === 'number' && Number.isFinite(sessionPriority))
    ) {
      fail(
        `options.session.priority must be a finite number, got ${String(sessionPriority)}.`,
        'Higher goes first; the default is 0.',
      );
    }
    const share = ref!.share;
    if (
      share !== undefined &&
      !(typeof share === 'number' && Number.isFinite(share) && share > 0)
    ) {
      fail(
        `options.session.share must be a finite number > 0, got ${String(share)}.`,
        "A share is the session's weight among sessions of the same priority; the default is 1.",
      );
    }
  }
}

/**
 * The first key of `given` that is not one of `known`, with its did-you-mean: the name `aliases`
 * maps it to (own keys only), else the closest known name; `didYouMean` is empty without one.
 */
function unknownKey(
  given: object,
  known: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): { key: string; didYouMean: string } | undefined {
  for (const key in given) {
    if (known.includes(key)) continue;
    const near = Object.hasOwn(aliases, key) ? aliases[key] : closestName(key, known);
    return { key, didYouMean: near ? ` (did you mean "${near}"?)` : '' };
  }
  return undefined;
}

/** Duck-typed, so a signal from another realm or copy of the runtime passes too. */
function isAbortSignal(value: unknown): boolean {
  const signal = value as { aborted?: unknown; addEventListener?: unknown } | null;
  return (
    typeof signal === 'object' &&
    signal !== null &&
    typeof signal.aborted === 'boolean' &&
    typeof signal.addEventListener === 'function'
  );
}

/** The fields of a {@link ChatRequest}. */
const REQUEST_FIELDS = [
  'messages',
  'model',
  'tools',
  'toolChoice',
  'temperature',
  'topP',
  'maxTokens',
  'stop',
  'stream',
  'providerOptions',
  'extra',
];

/** OpenAI wire names users write out of habit, and the field each one is. */
const WIRE_NAMES: Record<string, string> = {
  max_tokens: 'maxTokens',
  max_completion_tokens: 'maxTokens',
  top_p: 'topP',
  tool_choice: 'toolChoice',
  provider_options: 'providerOptions',
};

/**
 * Catches requests no provider could accept before they take a lease or reach the network: a
 * missing request object, a field it does not have (`max_tokens` would be dropped, not sent), an
 * empty or malformed `messages`, and fields of the wrong type or range (`maxTokens`,
 * `temperature`, `topP`, `tools`, `stream`, `model`). Thrown at the call, not retried.
 */
function checkChatRequest(request: unknown): void {
  const fail = (
    message: string,
    hint = 'Pass { messages: [{ role: "user", content: "..." }] }.',
  ) => {
    throw new SluiceError({
      kind: 'bad-request',
      phase: 'config',
      message: `router.chat: ${message}`,
      hint,
    });
  };
  const fieldHint =
    'maxTokens is a whole number of tokens, temperature and topP are numbers >= 0, tools is an array, stream is a boolean; leave a field out for the provider default.';
  if (typeof request !== 'object' || request === null) {
    fail(`the request must be an object, got ${request === null ? 'null' : typeof request}.`);
  }
  const unknown = unknownKey(request as object, REQUEST_FIELDS, WIRE_NAMES);
  if (unknown) {
    fail(
      `unknown request field "${unknown.key}"${unknown.didYouMean}; it would not be sent.`,
      `The fields are ${REQUEST_FIELDS.join(', ')}; a field the provider takes under its own name goes in extra, e.g. extra: { ${JSON.stringify(unknown.key)}: ... }.`,
    );
  }
  const messages = (request as { messages?: unknown }).messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    fail('request.messages must be a non-empty array of chat messages.');
  }
  (messages as unknown[]).forEach((message, index) => {
    const role = (message as { role?: unknown } | null)?.role;
    if (typeof role !== 'string') {
      fail(`request.messages[${index}] has no role (expected system, user, assistant or tool).`);
    }
    const content = (message as { content?: unknown }).content;
    if (
      content !== undefined &&
      content !== null &&
      typeof content !== 'string' &&
      !Array.isArray(content)
    ) {
      fail(
        `request.messages[${index}].content must be a string, an array of parts or null, got ${valueForMessage(content)}.`,
      );
    }
  });
  const { maxTokens, temperature, topP, tools, stream, model } = request as ChatRequest;
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens > 0)) {
    fail(
      `request.maxTokens must be a whole number > 0, got ${valueForMessage(maxTokens)}.`,
      fieldHint,
    );
  }
  for (const [name, value] of [
    ['temperature', temperature],
    ['topP', topP],
  ] as const) {
    if (
      value !== undefined &&
      !(typeof value === 'number' && Number.isFinite(value) && value >= 0)
    ) {
      fail(
        `request.${name} must be a finite number >= 0, got ${valueForMessage(value)}.`,
        fieldHint,
      );
    }
  }
  if (tools !== undefined && !Array.isArray(tools)) {
    fail(`request.tools must be an array of tools, got ${valueForMessage(tools)}.`, fieldHint);
  }
  if (stream !== undefined && typeof stream !== 'boolean') {
    fail(`request.stream must be true or false, got ${valueForMessage(stream)}.`, fieldHint);
  }
  if (model !== undefined && (typeof model !== 'string' || model === '')) {
    fail(
      `request.model must be a model name (a non-empty string), got ${valueForMessage(model)}.`,
      fieldHint,
    );
  }
}
