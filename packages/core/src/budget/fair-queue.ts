/**
 * The waiting room of a lease budget: priority classes (higher first), inside one class a
 * weighted round-robin over sessions (deficit round-robin: a session of share 2 gets two grants
 * per round, one of share 0.5 one grant every other round), inside one session FIFO. Every operation is O(1) apart from
 * creating a new priority class, which is O(number of classes) (in practice two or three).
 *
 * Waiters are intrusive doubly linked list nodes, so removing an aborted or timed-out waiter
 * from the middle of its session costs the same as granting the head, and no array ever
 * shifts. At 100,000 waiters the queue itself adds nothing but the links on each waiter.
 *
 * @internal Used by {@link createLeaseBudget}; exported for its tests.
 */
export class FairQueue<W extends QueueNode<W>> {
  /** Waiters in the queue now. */
  size = 0;
  /** The session of the waiter the last {@link shift} returned (its lane is gone by then). */
  shiftedSession: string | undefined = undefined;

  /** Classes with waiters, sorted by priority, highest first. */
  private readonly classes: PriorityClass<W>[] = [];
  private readonly byPriority = new Map<number, PriorityClass<W>>();

  /** Appends `waiter` to its session's lane, creating the lane (and class) when needed. */
  push(waiter: W, session: string | undefined, priority: number, share = 1): void {
    const cls = this.classOf(priority);
    let lane = cls.lanes.get(session);
    if (lane === undefined) {
      lane = new Lane<W>(session, cls);
      cls.lanes.set(session, lane);
      joinRing(cls, lane);
    }
    // The latest share of a session applies to its lane; shares are validated by the budget.
    lane.share = share;

    waiter.lane = lane;
    waiter.prev = lane.tail;
    waiter.next = undefined;
    if (lane.tail === undefined) lane.head = waiter;
    else lane.tail.next = waiter;
    lane.tail = waiter;
    this.size++;
  }

  /**
   * Removes and returns the next waiter: the head of the session under the cursor of the highest
   * class. The cursor then moves on to the next session, which is what makes the class fair: a
   * session with 50 waiters gets one grant per round, like a session with one.
   */
  shift(): W | undefined {
    const cls = this.classes[0];
    let lane = cls?.cursor;
    if (cls === undefined || lane === undefined) return undefined;

    // Deficit round-robin: a lane earns its share each time the cursor reaches it and spends 1
    // per grant. With every share 1 (the default) this is plain round-robin, one grant a turn.
    // The loop ends: every pass adds a positive share to each lane it skips.
    while (lane.deficit < 1) {
      lane.deficit += lane.share;
      if (lane.deficit >= 1) break;
      lane = lane.ringNext;
      cls.cursor = lane;
    }
    const waiter = lane.head!;
    lane.deficit -= 1;

    this.shiftedSession = lane.session;
    this.unlink(waiter, lane);
    if (lane.head !== undefined && lane.deficit < 1) cls.cursor = lane.ringNext;
    return waiter;
  }

  /** Removes `waiter` wherever it is. Returns false when it was not queued (already left). */
  remove(waiter: W): boolean {
    const lane = waiter.lane;
    if (lane === undefined) return false;
    this.unlink(waiter, lane);
    return true;
  }

  /** The session of a queued waiter; undefined for anonymous waiters or ones that left. */
  static sessionOf<W extends QueueNode<W>>(waiter: W): string | undefined {
    return waiter.lane?.session;
  }

  private unlink(waiter: W, lane: Lane<W>): void {
    if (waiter.prev === undefined) lane.head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) lane.tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.next = undefined;
    waiter.prev = undefined;
    waiter.lane = undefined;
    this.size--;

    // Empty lanes and classes are dropped at once: sessions come and go for the life of the
    // process, and keeping their lanes would leak one object per session ever seen.
    if (lane.head === undefined) this.dropLane(lane);
  }

  private dropLane(lane: Lane<W>): void {
    const cls = lane.cls;
    cls.lanes.delete(lane.session);
    if (cls.lanes.size === 0) {
      cls.cursor = undefined;
      this.byPriority.delete(cls.priority);
      this.classes.splice(this.classes.indexOf(cls), 1);
      return;
    }

    if (cls.cursor === lane) cls.cursor = lane.ringNext;
    lane.ringPrev.ringNext = lane.ringNext;
    lane.ringNext.ringPrev = lane.ringPrev;
  }

  private classOf(priority: number): PriorityClass<W> {
    const existing = this.byPriority.get(priority);
    if (existing !== undefined) return existing;

    const cls = new PriorityClass<W>(priority);
    this.byPriority.set(priority, cls);
    let index = 0;
    while (index < this.classes.length && this.classes[index]!.priority > priority) index++;
    this.classes.splice(index, 0, cls);
    return cls;
  }
}

/** The links a waiter carries for {@link FairQueue}. */
export interface QueueNode<W> {
  next: W | undefined;
  prev: W | undefined;
  /** The lane the waiter sits in; undefined when it is not queued. */
  lane: Lane<W> | undefined;
}

/** The FIFO of one session inside one priority class, and its place in the class's ring. */
export class Lane<W> {
  head: W | undefined = undefined;
  tail: W | undefined = undefined;
  ringNext: Lane<W> = this;
  ringPrev: Lane<W> = this;
  /** Grants per round relative to the other sessions of the class. */
  share = 1;
  /** Grants earned and not yet used in the current turn (deficit round-robin). */
  deficit = 0;

  constructor(
    readonly session: string | undefined,
    readonly cls: PriorityClass<W>,
  ) {}
}

class PriorityClass<W> {
  readonly lanes = new Map<string | undefined, Lane<W>>();
  /** The lane whose head is granted next. */
  cursor: Lane<W> | undefined = undefined;

  constructor(readonly priority: number) {}
}

/**
 * A new session joins the ring just behind the cursor, i.e. at the end of the current round, so
 * sessions that were already waiting are not overtaken by a newcomer.
 */
function joinRing<W>(cls: PriorityClass<W>, lane: Lane<W>): void {
  const cursor = cls.cursor;
  if (cursor === undefined) {
    cls.cursor = lane;
    return;
  }
  lane.ringNext = cursor;
  lane.ringPrev = cursor.ringPrev;
  cursor.ringPrev.ringNext = lane;
  cursor.ringPrev = lane;
}
