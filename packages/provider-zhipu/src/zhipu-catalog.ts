import type { ModelInfo } from '@sluice/core';

/** Plan names used in {@link ModelInfo.plans}: the GLM Coding Plan and pay-as-you-go. */
export const ZHIPU_PLANS = ['coding', 'general'] as const;

const TEXT_PLANS = ['coding', 'general'];

// TODO(zhipu): unverified: which vision models a Coding Plan key may call directly. The plan
// documents vision through its MCP server, not through chat/completions, so they are listed
// under pay-as-you-go only until a public source says otherwise.
const VISION_PLANS = ['general'];

const REASONING_TEXT = { reasoning: true, tools: true, vision: false, streaming: true };
const REASONING_VISION = { reasoning: true, tools: true, vision: true, streaming: true };

/**
 * The GLM models Sluice knows, newest generation last. Figures are tokens.
 *
 * Sources (public, fetched 2026): docs.bigmodel.cn/cn/guide/models/text/glm-4.5 (GLM-4.5 family:
 * 128K context, thinking.type enabled|disabled); vercel.com/ai-gateway/models/glm-4.5-air (128K
 * context, 96K output); vercel.com/ai-gateway/models/glm-4.6 (204.8K context);
 * docs.aimlapi.com .../zhipu/glm-4.7 (200K context, 128K output); vercel.com/ai-gateway/models/glm-5
 * (202.8K context, 131.1K output); runware.ai/models/zai-glm-5-1 (200K context, 128K output);
 * runware.ai/docs/models/zai-glm-5-2 (1M context, 128K output); vercel.com/ai-gateway/models/glm-4.6v
 * (128K context) and novita.ai zai-org-glm-4.6v (32K output). Third-party listings disagree by a
 * few thousand tokens; the power-of-two figures Z.ai itself quotes (128K, 200K) are used.
 *
 * A response may name a newer build than the one requested (`glm-4.6` answering as
 * `glm-4.6-0930`): that is normal and never an error.
 */
export const zhipuCatalog: ModelInfo[] = [
  {
    id: 'glm-4.5',
    displayName: 'GLM-4.5',
    contextWindow: 131_072,
    maxOutputTokens: 98_304,
    capabilities: REASONING_TEXT,
    plans: TEXT_PLANS,
  },
  {
    id: 'glm-4.5-air',
    displayName: 'GLM-4.5-Air',
    contextWindow: 131_072,
    maxOutputTokens: 98_304,
    capabilities: REASONING_TEXT,
    plans: TEXT_PLANS,
  },
  {
    id: 'glm-4.6',
    displayName: 'GLM-4.6',
    contextWindow: 204_800,
    // TODO(zhipu): unverified: listings give 128K (Z.ai, atlascloud) and 64K (wavespeed).
    maxOutputTokens: 131_072,
    capabilities: REASONING_TEXT,
    plans: TEXT_PLANS,
  },
  {
    id: 'glm-4.7',
    displayName: 'GLM-4.7',
    contextWindow: 204_800,
    maxOutputTokens: 131_072,
    capabilities: REASONING_TEXT,
    plans: TEXT_PLANS,
  },
  {
    id: 'glm-5',
    displayName: 'GLM-5',
    contextWindow: 204_800,
    maxOutputTokens: 131_072,
    capabilities: REASONING_TEXT,
    plans: TEXT_PLANS,
  },
  {
    id: 'glm-5-turbo',
    displayName: 'GLM-5-Turbo',
    // TODO(zhipu): unverified: no public figures found; assumed equal to GLM-5.
    contextWindow: 204_800,
    maxOutputTokens: 131_072,
    capabilities: REASONING_TEXT,
    plans: TEXT_PLANS,
  },
  {
    id: 'glm-5.1',
    displayName: 'GLM-5.1',
    contextWindow: 204_800,
    maxOutputTokens: 131_072,
    capabilities: REASONING_TEXT,
    plans: TEXT_PLANS,
  },
  {
    id: 'glm-5.2',
    displayName: 'GLM-5.2',
    contextWindow: 1_048_576,
    maxOutputTokens: 131_072,
    capabilities: REASONING_TEXT,
    plans: TEXT_PLANS,
  },
  {
    id: 'glm-4.5v',
    displayName: 'GLM-4.5V',
    // TODO(zhipu): unverified: 64K context and 16K output are the commonly quoted figures; no
    // first-party page was found.
    contextWindow: 65_536,
    maxOutputTokens: 16_384,
    capabilities: REASONING_VISION,
    plans: VISION_PLANS,
  },
  {
    id: 'glm-4.6v',
    displayName: 'GLM-4.6V',
    contextWindow: 131_072,
    maxOutputTokens: 32_768,
    capabilities: REASONING_VISION,
    plans: VISION_PLANS,
  },
];

/** The catalog entry for `model`, or undefined. Matches ids case-insensitively. */
export function findZhipuModel(model: string): ModelInfo | undefined {
  const wanted = model.toLowerCase();
  return zhipuCatalog.find((info) => info.id === wanted || info.aliases?.includes(wanted));
}
