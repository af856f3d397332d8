import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FairQueue, type Lane } from './fair-queue.js';

class Node {
  next: Node | undefined = undefined;
  prev: Node | undefined = undefined;
  lane: Lane<Node> | undefined = undefined;
  constructor(readonly id: number) {}
}

/**
 * The same policy written the plain way, with arrays: classes by priority, a ring of sessions
 * per class with a cursor, a FIFO per session. Slow, obviously right, and what the linked
 * structure must match step for step.
 */
class ReferenceQueue {
  private readonly classes = new Map<
    number,
    { ring: (string | undefined)[]; cursor: number; fifo: Map<string | undefined, number[]> }
  >();
  private readonly where = new Map<number, { session: string | undefined; priority: number }>();

  get size(): number {
    return this.where.size;
  }

  push(id: number, session: string | undefined, priority: number): void {
    let cls = this.classes.get(priority);
    if (cls === undefined) {
      cls = { ring: [], cursor: 0, fifo: new Map() };
      this.classes.set(priority, cls);
    }
    if (!cls.fifo.has(session)) {
      cls.fifo.set(session, []);
      // A new session joins just behind the cursor: last in the current round.
      if (cls.ring.length === 0) cls.ring = [session];
      else {
        cls.ring.splice(cls.cursor, 0, session);
        cls.cursor++;
      }
    }
    cls.fifo.get(session)!.push(id);
    this.where.set(id, { session, priority });
  }

  shift(): number | undefined {
    const priority = Math.max(...this.classes.keys());
    const cls = this.classes.get(priority);
    if (cls === undefined) return undefined;
    const session = cls.ring[cls.cursor];
    const id = cls.fifo.get(session)!.shift()!;
    this.where.delete(id);
    if (cls.fifo.get(session)!.length === 0) this.dropSession(priority, session);
    else cls.cursor = (cls.cursor + 1) % cls.ring.length;
    return id;
  }

  remove(id: number): boolean {
    const place = this.where.get(id);
    if (place === undefined) return false;
    this.where.delete(id);
    const cls = this.classes.get(place.priority)!;
    const fifo = cls.fifo.get(place.session)!;
    fifo.splice(fifo.indexOf(id), 1);
    if (fifo.length === 0) this.dropSession(place.priority, place.session);
    return true;
  }

  ids(): number[] {
    return [...this.where.keys()];
  }

  private dropSession(priority: number, session: string | undefined): void {
    const cls = this.classes.get(priority)!;
    cls.fifo.delete(session);
    const index = cls.ring.indexOf(session);
    cls.ring.splice(index, 1);
    if (cls.ring.length === 0) {
      this.classes.delete(priority);
      return;
    }
    if (index < cls.cursor) cls.cursor--;
    else if (index === cls.cursor) cls.cursor %= cls.ring.length;
  }
}

type Op =
  | { op: 'push'; session: string | undefined; priority: number }
  | { op: 'shift' }
  | { op: 'remove'; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('push' as const),
      session: fc.constantFrom(undefined, 'a', 'b', 'c', 'd'),
      priority: fc.constantFrom(0, 5, 10),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('shift' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
);

describe('FairQueue', () => {
  it('matches the array reference model on random push, shift and remove', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const queue = new FairQueue<Node>();
        const reference = new ReferenceQueue();
        const nodes = new Map<number, Node>();
        let nextId = 0;

        for (const step of ops) {
          if (step.op === 'push') {
            const node = new Node(nextId++);
            nodes.set(node.id, node);
            queue.push(node, step.session, step.priority);
            reference.push(node.id, step.session, step.priority);
          } else if (step.op === 'shift') {
            expect(queue.shift()?.id).toBe(reference.shift());
          } else {
            const ids = reference.ids();
            const id = ids[step.pick % Math.max(1, ids.length)];
            if (id !== undefined) {
              expect(queue.remove(nodes.get(id)!)).toBe(reference.remove(id));
              // Removing twice is a no-op.
              expect(queue.remove(nodes.get(id)!)).toBe(false);
            }
          }
          expect(queue.size).toBe(reference.size);
        }

        // Draining both gives the same order to the end.
        while (reference.size > 0) expect(queue.shift()?.id).toBe(reference.shift());
        expect(queue.shift()).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('reports the session of the waiter it shifted', () => {
    const queue = new FairQueue<Node>();
    queue.push(new Node(1), 'root', 0);
    queue.push(new Node(2), undefined, 0);
    expect(queue.shift()?.id).toBe(1);
    expect(queue.shiftedSession).toBe('root');
    expect(queue.shift()?.id).toBe(2);
    expect(queue.shiftedSession).toBeUndefined();
  });

  it('forgets sessions and classes once they are empty', () => {
    const queue = new FairQueue<Node>();
    for (let session = 0; session < 1000; session++) {
      const node = new Node(session);
      queue.push(node, `s${session}`, session % 7);
      queue.remove(node);
    }
    const internals = queue as unknown as { classes: unknown[]; byPriority: Map<number, unknown> };
    expect(internals.classes).toEqual([]);
    expect(internals.byPriority.size).toBe(0);
  });
});
