/**
 * The waiting room of one process in front of a Redis budget, with the same order as the
 * in-process budget: priority classes (higher first), round-robin over sessions inside a class,
 * FIFO inside a session. Redis decides WHEN this process may take a lease (FIFO by arrival
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

  /** Appends `waiter` to its session's lane. */
  push(waiter: W, session: string | undefined, priority: number): void {
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
      lane = { session, waiters: [] };
      cls.ring.splice(cls.cursor, 0, lane);
      if (cls.ring.length > 1) cls.cursor++;
    }
    lane.waiters.push(waiter);
    this.size++;
  }

  /** The waiter {@link shift} would return, without removing it. */
  peek(): W | undefined {
    const cls = this.classes[0];
    return cls?.ring[cls.cursor]?.waiters[0];
  }

  /** Removes and returns the next waiter; the class's cursor moves on to the next session. */
  shift(): W | undefined {
    const cls = this.classes[0];
    const lane = cls?.ring[cls.cursor];
    if (cls === undefined || lane === undefined) return undefined;
    const waiter = lane.waiters.shift();
    this.size--;
    if (lane.waiters.length === 0) this.dropLane(cls, cls.cursor);
    else cls.cursor = (cls.cursor + 1) % cls.ring.length;
    return waiter;
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
}

interface PriorityClass<W> {
  priority: number;
  /** Sessions in round-robin order. */
  ring: Lane<W>[];
  /** Index in `ring` of the session served next. */
  cursor: number;
}
