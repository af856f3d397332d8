// Public exports of the transport area; owned by whoever builds transport.
export {};
