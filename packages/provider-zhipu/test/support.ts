// Shared set-up of the router-level tests: one msw server on global fetch per test file, and
// routers that are closed after each test.
import { SluiceError, createBudgetRegistry, createRouter } from '@sluice/core';
import type { ProviderDescriptor, Router, RouterOptions, SluiceEvent } from '@sluice/core';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { provider } from '../src/index.js';

/** A test key: long enough to be redacted, of the `id.secret` form, recognisable in a leak. */
export const TEST_KEY = 'zhipu-test-key-0123456789.SECRETsecret';

/** Options of a router with one instance `glm` and a route `main`. */
export interface GlmRouterOptions {
  model?: string;
  /** Fields of the `glm` provider instance (timeouts, retry, endpoint, maxConcurrency, ...). */
  instance?: Record<string, unknown>;
  descriptor?: ProviderDescriptor;
}

/**
 * Registers the file's hooks: an msw server that fails on unhandled requests, reset after each
 * test, and closing of every router made with the returned helpers.
 */
export function setupRouterTests() {
  const server = setupServer();
  const routers: Router[] = [];
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(async () => {
    server.resetHandlers();
    await Promise.all(routers.splice(0).map((router) => router.close()));
  });
  afterAll(() => server.close());

  /** A router with its own budget registry and no env, closed after the test. */
  function makeRouter(options: Omit<RouterOptions, 'budgets'>): Router {
    const router = createRouter({ env: {}, budgets: createBudgetRegistry(), ...options });
    routers.push(router);
    return router;
  }

  /** A router on the zhipu descriptor, with every telemetry event it publishes collected. */
  function glmRouter(options: GlmRouterOptions = {}): { router: Router; events: SluiceEvent[] } {
    const router = makeRouter({
      config: {
        providers: { glm: { use: 'zhipu', apiKey: TEST_KEY, ...options.instance } },
        routes: { main: { provider: 'glm', model: options.model ?? 'glm-4.6' } },
        defaultRoute: 'main',
      },
      providers: [options.descriptor ?? provider],
    });
    const events: SluiceEvent[] = [];
    router.subscribe((event) => events.push(event));
    return { router, events };
  }

  return { server, makeRouter, glmRouter };
}

/** The SluiceError `promise` rejects with; fails the test when it resolves or rejects otherwise. */
export async function failureOf(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(SluiceError.isInstance(error), `expected a SluiceError, got ${String(error)}`).toBe(true);
  return error as SluiceError;
}
