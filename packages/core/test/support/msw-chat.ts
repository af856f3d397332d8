import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import type { RequestHandler } from 'msw';
import { openAICompatible } from '../../src/descriptor/open-ai-compatible.js';
import type { ProviderDescriptor } from '../../src/descriptor/types.js';
import type { Recording } from './recordings.js';
import { TEST_API_KEY } from './test-route.js';

/** Where msw answers in contract tests. */
export const MOCK_BASE_URL = 'https://llm.mock.test/v1';
export const MOCK_CHAT_URL = `${MOCK_BASE_URL}/chat/completions`;

/** An msw server on global fetch; start in beforeAll, reset after each test, close in afterAll. */
export function createMockServer(...handlers: RequestHandler[]): ReturnType<typeof setupServer> {
  return setupServer(...handlers);
}

/** The descriptor of the mocked provider. */
export function mockDescriptor(overrides: Partial<Parameters<typeof openAICompatible>[0]> = {}) {
  return openAICompatible({
    id: 'mockglm',
    baseURL: MOCK_BASE_URL,
    models: ['glm-4.5', 'glm-4.6'],
    defaultModel: 'glm-4.5',
    ...overrides,
  });
}

/** A route config with one instance `glm` on the mocked provider and a route `main`. */
export function mockConfig(
  options: {
    descriptor?: ProviderDescriptor;
    maxConcurrency?: number;
    timeouts?: Record<string, number>;
    retry?: Record<string, unknown>;
    model?: string;
    extraRoutes?: Record<string, unknown>;
    extraProviders?: Record<string, unknown>;
    fallbacks?: string[];
  } = {},
) {
  return {
    providers: {
      glm: {
        descriptor: options.descriptor ?? mockDescriptor(),
        apiKey: TEST_API_KEY,
        maxConcurrency: options.maxConcurrency ?? 1,
        ...(options.timeouts ? { timeouts: options.timeouts } : {}),
        ...(options.retry ? { retry: options.retry } : {}),
      },
      ...options.extraProviders,
    },
    routes: {
      main: {
        provider: 'glm',
        model: options.model ?? 'glm-4.5',
        ...(options.fallbacks ? { fallbacks: options.fallbacks } : {}),
      },
      ...options.extraRoutes,
    },
    defaultRoute: 'main',
  };
}

/** Counts requests the mock is serving right now (open response bodies), and the peak. */
export class InFlightCounter {
  now = 0;
  peak = 0;
  total = 0;

  /** Call when a request arrives; returns the function to call when its body has ended. */
  enter(): () => void {
    this.now += 1;
    this.total += 1;
    this.peak = Math.max(this.peak, this.now);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.now -= 1;
    };
  }
}

/** A streamed body from text pieces, with a pause between pieces, counted by `counter`. */
export function streamBody(
  pieces: string[],
  options: { delayMs?: number; counter?: InFlightCounter; signal?: AbortSignal } = {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const leave = options.counter?.enter();
  let index = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (options.delayMs && index > 0) {
        await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      }
      const piece = pieces[index++];
      if (piece === undefined) {
        leave?.();
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(piece));
    },
    cancel() {
      leave?.();
    },
  });
}

/** Serves a recording's body with its status and content type, streamed in 64-byte pieces. */
export function recordedResponse(recording: Recording, counter?: InFlightCounter): Response {
  const pieces: string[] = [];
  for (let offset = 0; offset < recording.body.length; offset += 64) {
    pieces.push(recording.body.slice(offset, offset + 64));
  }
  return new HttpResponse(streamBody(pieces, counter ? { counter } : {}), {
    status: recording.status,
    headers: { 'content-type': recording.contentType },
  });
}

/** A handler that answers every chat request with `respond`, recording the request bodies. */
export function chatHandler(
  respond: (
    body: Record<string, unknown>,
    request: Request,
    index: number,
  ) => Response | Promise<Response>,
  seen: Array<Record<string, unknown>> = [],
) {
  return http.post(MOCK_CHAT_URL, async ({ request }) => {
    const body = (await request.clone().json()) as Record<string, unknown>;
    seen.push(body);
    return respond(body, request, seen.length - 1);
  });
}

/** A JSON error response in the OpenAI shape. */
export function errorResponse(
  status: number,
  error: Record<string, unknown>,
  headers: Record<string, string> = {},
): Response {
  return HttpResponse.json({ error }, { status, headers });
}
