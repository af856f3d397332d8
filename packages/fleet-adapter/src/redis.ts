/**
 * `@sluice/fleet-adapter/redis`: provider budgets shared across machines through Redis. Importing
 * this entry also teaches `attachBudget()` the `redis://` and `rediss://` `SLUICE_BUDGET` schemes.
 */
export * from './redis/index.js';
