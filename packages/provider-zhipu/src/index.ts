/**
 * @sluice/provider-zhipu: the Zhipu GLM (Z.ai / BigModel) descriptor for Sluice: endpoints, auth
 * (bearer or signed token), catalog, error classifier, finish-reason mapping and request
 * transform. Testing handlers live in `@sluice/provider-zhipu/testing`.
 */
import { provider } from './zhipu-provider.js';

export {
  createZhipuProvider,
  provider,
  ZHIPU_DEFAULT_MAX_CONCURRENCY,
  ZHIPU_DEFAULT_RETRY,
  ZHIPU_DEFAULT_TIMEOUTS,
} from './zhipu-provider.js';
export type { ZhipuProviderOptions } from './zhipu-provider.js';
export { ZHIPU_ENDPOINTS } from './zhipu-endpoints.js';
export type { ZhipuEndpointName } from './zhipu-endpoints.js';
export { findZhipuModel, zhipuCatalog, ZHIPU_PLANS } from './zhipu-catalog.js';
export {
  classifyZhipuError,
  knownZhipuErrorCodes,
  ZHIPU_ENV_VARS,
} from './classify-zhipu-error.js';
export type { ZhipuClassifyInput, ZhipuClassifyRoute } from './classify-zhipu-error.js';
export { mapZhipuFinishReason } from './map-zhipu-finish-reason.js';
export { createSignedTokenCredential, signZhipuToken } from './signed-token.js';
export type { SignedTokenOptions } from './signed-token.js';
export {
  readThinkingOption,
  transformZhipuRequest,
  ZHIPU_TEMPERATURE_RANGE,
} from './transform-zhipu-request.js';
export type { ZhipuThinking } from './transform-zhipu-request.js';

/** Package version, kept in step with package.json. */
export const VERSION = '0.1.0';

/** The same descriptor as {@link provider}, as the default export. */
export default provider;
