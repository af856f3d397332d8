/**
 * The waiting room of one process in front of a Redis budget, with the same order as the
 * in-process budget: priority classes (higher first), weighted round-robin over sessions inside a
 * class (deficit round-robin by share: share 2 gets two grants per round, share 0.5 one every
 * other round), FIFO inside a session. Redis decides WHEN this process may take a lease (FIFO by arrival
 * across processes); this queue decides WHICH of its waiters gets it.
 *
 * Lanes are arrays: a process queues tens to hundreds of waiters per budget, not the hundred
 * thousand the in-process budget is built for, so removing from the middle may cost O(lane).
 *
 * @internal
 */
export class LocalFairQueue<W> {
  /** Waiters queued now. */
  size = 0;

  /** Classes with waiters, highest priority first. */
  private readonly classes: PriorityClass<W>[] = [];

  /** Appends `waiter` to its session's lane; the session's latest `share` applies to the lane. */
  push(waiter: W, session: string | undefined, priority: number, share = 1): void {
    let index = 0;
    while (index < this.classes.length && this.classes[index]!.priority > priority) index++;
    let cls = this.classes[index];
    if (cls === undefined || cls.priority !== priority) {
      cls = { priority, ring: [], cursor: 0 };
      this.classes.splice(index, 0, cls);
    }

    let lane = cls.ring.find((candidate) => candidate.session === session);
    if (lane === undefined) {
      // A new session joins at the end of the current round (just behind the cursor), so the
      // sessions already waiting are not overtaken by a newcomer.
      lane = { session, waiters: [], share, deficit: 0 };
      cls.ring.splice(cls.cursor, 0, lane);
      if (cls.ring.length > 1) cls.cursor++;
    }
    lane.share = share;
    lane.waiters.push(waiter);
    this.size++;
  }

  /** The waiter {@link shift} would return, without removing it. */
  peek(): W | undefined {
    const cls = this.classes[0];
    return cls === undefined ? undefined : this.turn(cls).waiters[0];
  }

  /**
   * Removes and returns the next waiter. Its session spends one grant of its turn; when the turn
   * is spent (or the lane is empty) the class's cursor moves on to the next session.
   */
  shift(): W | undefined {
    const cls = this.classes[0];
    if (cls === undefined) return undefined;
    const lane = this.turn(cls);
    const waiter = lane.waiters.shift();
    lane.deficit -= 1;
    this.size--;
    if (lane.waiters.length === 0) this.dropLane(cls, cls.cursor);
    else if (lane.deficit < 1) cls.cursor = (cls.cursor + 1) % cls.ring.length;
    return waiter;
  }

  /**
   * The lane whose turn it is: each lane the cursor reaches earns its share, and a lane that has
   * not earned a whole grant yet (share < 1) is passed over. Ends: every pass adds a positive
   * share to each lane it skips. Calling it again without a shift changes nothing.
   */
  private turn(cls: PriorityClass<W>): Lane<W> {
    let lane = cls.ring[cls.cursor]!;
    while (lane.deficit < 1) {
      lane.deficit += lane.share;
      if (lane.deficit >= 1) break;
      cls.cursor = (cls.cursor + 1) % cls.ring.length;
      lane = cls.ring[cls.cursor]!;
    }
    return lane;
  }

  /** Removes `waiter` wherever it is; false when it is not queued. */
  remove(waiter: W): boolean {
    for (const cls of this.classes) {
      for (let laneIndex = 0; laneIndex < cls.ring.length; laneIndex++) {
        const lane = cls.ring[laneIndex]!;
        const at = lane.waiters.indexOf(waiter);
        if (at < 0) continue;
        lane.waiters.splice(at, 1);
        this.size--;
        if (lane.waiters.length === 0) this.dropLane(cls, laneIndex);
        return true;
      }
    }
    return false;
  }

  /** Every queued waiter, in no particular order (for shutdown). */
  drain(): W[] {
    const all = this.classes.flatMap((cls) => cls.ring.flatMap((lane) => lane.waiters));
    this.classes.length = 0;
    this.size = 0;
    return all;
  }

  private dropLane(cls: PriorityClass<W>, laneIndex: number): void {
    cls.ring.splice(laneIndex, 1);
    if (cls.ring.length === 0) {
      this.classes.splice(this.classes.indexOf(cls), 1);
      return;
    }
    if (laneIndex < cls.cursor) cls.cursor--;
    if (cls.cursor >= cls.ring.length) cls.cursor = 0;
  }
}

interface Lane<W> {
  session: string | undefined;
  waiters: W[];
  /** Grants per round. */
  share: number;
  /** Grants earned and not spent in the lane's current turn. */
  deficit: number;
}

interface PriorityClass<W> {
  priority: number;
  /** Sessions in round-robin order. */
  ring: Lane<W>[];
  /** Index in `ring` of the session served next. */
  cursor: number;
}
