// The billing (1113) and auth hints hold for the endpoint and the key source of the request
// (findings of the external-user trial): through the router, which tells the classifier where
// the request went, and from the classifier alone, with and without that context.
import { describe, expect, it } from 'vitest';
import { classifyZhipuError, provider } from '../src/index.js';
import type { ZhipuClassifyRoute } from '../src/index.js';
import { glmError, zhipuMock } from '../src/testing.js';
import { failureOf, setupRouterTests, TEST_KEY } from './support.js';

const { server, makeRouter, glmRouter } = setupRouterTests();

const CODING = 'https://api.z.ai/api/coding/paas/v4';
const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };

describe('hints for the endpoint and the key source (trial findings)', () => {
  const body = (code: string, message: string) => ({ error: { code, message } });
  const classify = (status: number, code: string, route?: ZhipuClassifyRoute) => {
    const parsed = body(code, 'x');
    return classifyZhipuError({
      status,
      headers: new Headers(),
      body: parsed,
      bodyText: JSON.stringify(parsed),
      ...(route ? { route } : {}),
    });
  };

  it('1113 on the coding endpoint does not send the user to coding (trial: misleading hint)', async () => {
    server.use(...zhipuMock({ baseURL: CODING, script: [glmError(1113)] }).handlers);
    const { router } = glmRouter({ instance: { endpoint: 'coding' } });

    const error = await failureOf(router.chat(ask).text());

    expect(error).toMatchObject({ kind: 'billing', providerCode: '1113' });
    expect(error.hint).not.toContain('use it on the `coding` endpoint');
    expect(error.hint).toContain(
      'already went to a `coding` endpoint, so the endpoint is not the cause',
    );
  });

  it('1113 told nothing of the request is right on both endpoints', () => {
    const hint = classify(429, '1113', undefined)?.hint;
    expect(hint).toContain('On a `coding` endpoint the endpoint is not the cause');
    expect(hint).toContain('On a `general` (pay-as-you-go) endpoint');
  });

  it('1113 names the cause for the endpoint the request went to, when the classifier is told', () => {
    for (const route of [
      { endpointName: 'coding' },
      { endpointName: 'coding-cn' },
      { url: 'https://open.bigmodel.cn/api/coding/paas/v4/chat/completions' },
    ]) {
      const hint = classify(429, '1113', route)?.hint;
      expect(hint).toContain(
        'already went to a `coding` endpoint, so the endpoint is not the cause',
      );
      expect(hint).not.toContain('send it to the `coding` endpoint');
    }
    for (const route of [
      { endpointName: 'general' },
      { url: 'https://api.z.ai/api/paas/v4/chat/completions' },
    ]) {
      const hint = classify(429, '1113', route)?.hint;
      expect(hint).toContain(
        'send it to the `coding` endpoint (https://api.z.ai/api/coding/paas/v4',
      );
      expect(hint).not.toContain('already went to a `coding` endpoint');
    }
  });

  it('a 401 with a literal key does not lead with the env vars (trial: misleading hint)', async () => {
    server.use(...zhipuMock({ baseURL: CODING, script: [glmError(1002)] }).handlers);
    const { router } = glmRouter();

    const error = await failureOf(router.chat(ask).text());

    expect(error).toMatchObject({ kind: 'auth', status: 401, providerCode: '1002' });
    expect(error.hint).not.toMatch(/^Check the key in ZHIPU_API_KEY/);
    expect(error.hint).toContain(
      "GLM refused the key written literally as the provider instance's apiKey",
    );
    expect(error.hint).not.toContain(TEST_KEY);
  });

  it('a 401 with an env key names that variable', async () => {
    server.use(...zhipuMock({ baseURL: CODING, script: [glmError(1002)] }).handlers);
    const router = makeRouter({
      env: { ZAI_API_KEY: TEST_KEY },
      config: {
        providers: { glm: { use: 'zhipu' } },
        routes: { main: { provider: 'glm', model: 'glm-4.6' } },
        defaultRoute: 'main',
      },
      providers: [provider],
    });

    const error = await failureOf(router.chat(ask).text());

    expect(error.hint).toContain('GLM refused the key from env:ZAI_API_KEY');
    expect(error.hint).not.toContain(TEST_KEY);
  });

  it('a 401 told nothing of the request names both places a key comes from', () => {
    expect(classify(401, '1002', undefined)?.hint).toMatch(
      /^GLM refused the key\. It is the provider instance's apiKey when that is set/,
    );
  });

  it('a 401 names the key source when the classifier is told it', () => {
    const literal = classify(401, '1002', { apiKeySource: 'literal' })?.hint;
    expect(literal).toContain(
      "GLM refused the key written literally as the provider instance's apiKey",
    );
    expect(literal).not.toContain('ZAI_API_KEY');

    const env = classify(401, '1000', { apiKeySource: 'env:ZAI_API_KEY' })?.hint;
    expect(env).toContain('GLM refused the key from env:ZAI_API_KEY');
    expect(env).not.toContain('literal');
  });
});
