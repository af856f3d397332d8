// Public exports of the router area; owned by whoever builds router.
export {};
