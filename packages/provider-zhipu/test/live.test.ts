// A live test against the real GLM API. It runs only when ZHIPU_API_KEY is set (it spends a few
// tokens of that account) and says so loudly when it is skipped; this is the one skip CI allows.
// ZHIPU_LIVE_ENDPOINT (default `coding`) and ZHIPU_LIVE_MODEL (default glm-4.5-air) pick the target.
import { createBudgetRegistry, createRouter } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { provider } from '../src/index.js';

const apiKey = process.env.ZHIPU_API_KEY;
const endpoint = process.env.ZHIPU_LIVE_ENDPOINT ?? 'coding';
const model = process.env.ZHIPU_LIVE_MODEL ?? 'glm-4.5-air';

if (!apiKey) {
  console.warn(
    '\n[live] SKIPPED: ZHIPU_API_KEY is not set, so the live test against the real GLM API did ' +
      'not run. Set it (a Coding Plan key for the `coding` endpoint) to run it.\n',
  );
}

describe('[live] the real GLM API', () => {
  it.skipIf(!apiKey)(
    `[live] streams an answer from ${model} on the ${endpoint} endpoint through router.chat`,
    async () => {
      const router = createRouter({
        config: {
          providers: { glm: { use: 'zhipu', apiKey: 'env:ZHIPU_API_KEY', endpoint } },
          routes: { main: { provider: 'glm', model } },
          defaultRoute: 'main',
        },
        providers: [provider],
        budgets: createBudgetRegistry(),
      });
      try {
        const result = await router
          .chat({
            messages: [{ role: 'user', content: 'Reply with the single word: pong' }],
            maxTokens: 512,
            providerOptions: { thinking: { type: 'disabled' } },
          })
          .result();

        expect(result.text.toLowerCase()).toContain('pong');
        expect(['stop', 'length']).toContain(result.finishReason);
        expect(result.usage?.totalTokens).toBeGreaterThan(0);
        // A newer build may answer (e.g. glm-4.5-air-0728): the name only has to be a GLM one.
        expect(result.model?.toLowerCase()).toMatch(/^glm/);
      } finally {
        await router.close();
      }
    },
    120_000,
  );
});
