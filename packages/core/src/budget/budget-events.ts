import { SluiceError } from '../errors/sluice-error.js';
import type { BudgetEventMap, BudgetEventName } from './types.js';

type Listener<E extends BudgetEventName> = (payload: BudgetEventMap[E]) => void;
type ListenerTable = { [E in BudgetEventName]: Listener<E>[] };

/**
 * The listener table every Budget implementation shares (in-process, Redis, remote). Listeners
 * run synchronously, after the budget's state is consistent; one that throws cannot corrupt the
 * budget or stop the others: its error is rethrown on a microtask, the way EventTarget reports
 * listener errors, so it is never silently lost. Lists are copied on write, so a listener that
 * unsubscribes during an emit does not make its neighbour miss the event.
 */
export class BudgetEvents {
  readonly #table: ListenerTable = {
    queued: [],
    acquired: [],
    released: [],
    rejected: [],
    resized: [],
    cooldown: [],
    idle: [],
  };

  /** @param key the budget key, named in the error for an unknown event. */
  constructor(private readonly key: string) {}

  /** True when `event` has listeners: skip building a payload nobody reads (hot path). */
  has(event: BudgetEventName): boolean {
    return this.#table[event].length > 0;
  }

  /** Adds a listener; returns the unsubscribe function. Throws for an unknown event name. */
  on<E extends BudgetEventName>(event: E, listener: Listener<E>): () => void {
    const table = this.#table as unknown as Record<BudgetEventName, Listener<E>[]>;
    if (!Object.hasOwn(table, event)) {
      throw new SluiceError({
        kind: 'config',
        message: `Budget "${this.key}" has no event "${String(event)}".`,
        hint: `Use one of: ${Object.keys(table).join(', ')}.`,
      });
    }
    table[event] = [...table[event], listener];
    return () => {
      table[event] = table[event].filter((existing) => existing !== listener);
    };
  }

  /** Calls every listener of `event` with `payload`. */
  emit<E extends BudgetEventName>(event: E, payload: BudgetEventMap[E]): void {
    for (const listener of this.#table[event] as Listener<E>[]) {
      try {
        listener(payload);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
