// Public exports of the budget area; owned by whoever builds budget.
export {};
