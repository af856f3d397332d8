// Public exports of the config area; owned by whoever builds config.
export {};
