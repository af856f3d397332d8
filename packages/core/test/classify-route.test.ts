import { afterEach, describe, expect, test } from 'vitest';
import { defineProvider } from '../src/descriptor/define-provider.js';
import type { ClassifyInput } from '../src/descriptor/types.js';
import { SluiceError } from '../src/errors/sluice-error.js';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { createRouter } from '../src/router/create-router.js';
import type { Router } from '../src/router/types.js';

const KEY = 'sk-classify-SECRET-0123456789';

let router: Router | undefined;
afterEach(async () => {
  await router?.close();
  router = undefined;
});

/** A router whose provider's classifier records what it was given. */
function makeRouter(response: () => Response, instance: Record<string, unknown>) {
  const seen: ClassifyInput[] = [];
  const provider = defineProvider({
    id: 'acme',
    endpoints: { coding: 'http://127.0.0.1:9/coding/v1', general: 'http://127.0.0.1:9/v1' },
    auth: { type: 'bearer', envVars: ['ACME_API_KEY'] },
    maxConcurrency: 1,
    classify: (input) => {
      seen.push(input);
      return { kind: 'auth', hint: `key from ${input.route?.apiKeySource ?? 'unknown'}` };
    },
  });
  router = createRouter({
    config: {
      providers: { main: { use: 'acme', retry: { maxAttempts: 1 }, ...instance } },
      routes: { default: { provider: 'main', model: 'm' } },
    },
    providers: [provider],
    budgets: createBudgetRegistry(),
    env: { ACME_API_KEY: KEY },
    fetch: (async () => response()) as typeof fetch,
  });
  return { router, seen };
}

async function failure(router: Router): Promise<SluiceError> {
  try {
    await router.chat({ messages: [{ role: 'user', content: 'hi' }] }).text();
  } catch (error) {
    if (SluiceError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

describe('a classifier is told where the request went (trial: hints named the wrong key source)', () => {
  test('an HTTP error: endpoint, masked URL and key source, never the key', async () => {
    const { router, seen } = makeRouter(
      () => new Response('{"error":{"code":"1001","message":"bad key"}}', { status: 401 }),
      { endpoint: 'coding', apiKey: 'env:ACME_API_KEY' },
    );

    const error = await failure(router);

    expect(seen).toHaveLength(1);
    expect(seen[0]!.route).toEqual({
      name: 'default',
      endpointName: 'coding',
      url: 'http://127.0.0.1:9/coding/v1/chat/completions',
      apiKeySource: 'env:ACME_API_KEY',
    });
    expect(error.hint).toBe('key from env:ACME_API_KEY');
    expect(JSON.stringify(seen)).not.toContain(KEY);
  });

  test('an error frame in a 200 stream, on a URL of its own with a secret query value', async () => {
    const { router, seen } = makeRouter(
      () =>
        new Response('data: {"error":{"code":"1001","message":"bad key"}}\n\n', {
          headers: { 'content-type': 'text/event-stream' },
        }),
      { endpoint: 'http://127.0.0.1:9/proxy/v1?token=proxy-SECRET-9', apiKey: KEY },
    );

    const error = await failure(router);

    expect(seen).toHaveLength(1);
    expect(seen[0]!.status).toBe(200);
    expect(seen[0]!.route).toEqual({
      name: 'default',
      endpointName: undefined,
      url: 'http://127.0.0.1:9/proxy/v1/chat/completions?token=***',
      apiKeySource: 'literal',
    });
    expect(error.hint).toBe('key from literal');
    expect(JSON.stringify(seen)).not.toContain('proxy-SECRET-9');
  });
});
