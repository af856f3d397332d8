/**
 * The four public GLM base URLs. `coding` serves GLM Coding Plan keys (international), `coding-cn`
 * the same plan on the mainland platform; `general` and `general-cn` are pay-as-you-go. A Coding
 * Plan key on a `general` endpoint fails with 1113 (arrears).
 */
export const ZHIPU_ENDPOINTS = {
  coding: 'https://api.z.ai/api/coding/paas/v4',
  'coding-cn': 'https://open.bigmodel.cn/api/coding/paas/v4',
  general: 'https://api.z.ai/api/paas/v4',
  'general-cn': 'https://open.bigmodel.cn/api/paas/v4',
} as const;

/** Names of {@link ZHIPU_ENDPOINTS}. */
export type ZhipuEndpointName = keyof typeof ZHIPU_ENDPOINTS;
