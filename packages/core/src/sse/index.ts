// Public exports of the sse area; owned by whoever builds sse.
export {};
