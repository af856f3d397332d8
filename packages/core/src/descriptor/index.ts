// Public exports of the descriptor area: the schema, defineProvider, openAICompatible and the
// default policies and error classifier.
export { DEFAULT_CHAT_PATH, DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUTS_MS } from './defaults.js';
export {
  SLUICE_ERROR_KINDS,
  isHttpUrl,
  maxConcurrencySchema,
  providerDescriptorSchema,
  retryPolicySchema,
  timeoutsSchema,
} from './provider-descriptor-schema.js';
export type { ProviderDescriptorInput } from './provider-descriptor-schema.js';
export { checkProviderDescriptor, defineProvider } from './define-provider.js';
export { classifyHttpStatus, classifyOpenAIError } from './classify-http-status.js';
export { openAICompatible } from './open-ai-compatible.js';
export type { OpenAICompatibleOptions } from './open-ai-compatible.js';
