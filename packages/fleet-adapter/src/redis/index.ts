// Public exports of the Redis budget backend. Loading this module registers the redis://
// and rediss:// SLUICE_BUDGET schemes with attachBudget().
import { registerRedisBudgetScheme } from './attach-redis-budget.js';

export {
  redisBudgetBackend,
  type RedisBudgetBackend,
  type RedisBudgetBackendOptions,
  type RedisBudgetHealth,
} from './redis-budget-backend.js';
export type { RedisBudget, RedisBudgetCluster } from './redis-budget.js';
export {
  attachRedisBudget,
  registerRedisBudgetScheme,
  type RedisAttachOptions,
} from './attach-redis-budget.js';
export { redisBackends, type RedisBackendFactory } from './redis-backends.js';
export { displayRedisUrl, parseRedisBudgetUrl, type RedisUrlOptions } from './redis-url.js';

registerRedisBudgetScheme();
