// Public exports of the Redis budget backend.
export {};
