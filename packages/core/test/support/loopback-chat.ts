import type { IncomingMessage } from 'node:http';
import { openAICompatible } from '../../src/descriptor/open-ai-compatible.js';
import { TEST_API_KEY } from './test-route.js';

/** Reads a request's JSON body. */
export async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of request) text += chunk;
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

/** A route config with one instance `glm` at a loopback base URL and a route `main`. */
export function loopbackConfig(
  baseURL: string,
  options: {
    maxConcurrency?: number;
    timeouts?: Record<string, number>;
    retry?: Record<string, unknown>;
  } = {},
) {
  return {
    providers: {
      glm: {
        descriptor: openAICompatible({
          id: 'loopglm',
          baseURL: `${baseURL}/v1`,
          models: ['glm-4.5'],
          defaultModel: 'glm-4.5',
        }),
        apiKey: TEST_API_KEY,
        maxConcurrency: options.maxConcurrency ?? 1,
        ...(options.timeouts ? { timeouts: options.timeouts } : {}),
        ...(options.retry ? { retry: options.retry } : {}),
      },
    },
    routes: { main: { provider: 'glm', model: 'glm-4.5' } },
    defaultRoute: 'main',
  };
}
