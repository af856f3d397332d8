// Public exports of the descriptor area; owned by whoever builds descriptor.
export {};
