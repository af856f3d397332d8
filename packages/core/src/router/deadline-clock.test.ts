import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineClock, type Deadline } from './deadline-clock.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A deadline at `atMs` that records its checks and may move later once. */
function deadline(atMs: number, movesTo?: number) {
  const checks: number[] = [];
  const entry: Deadline & { atMs: number } = {
    atMs,
    check(nowMs: number) {
      checks.push(nowMs);
      if (movesTo === undefined || entry.atMs === movesTo) return undefined;
      entry.atMs = movesTo;
      return movesTo;
    },
  };
  return { entry, checks };
}

describe('DeadlineClock', () => {
  it('checks each deadline at its instant, earliest first, with one timer', async () => {
    const clock = new DeadlineClock();
    const late = deadline(300);
    const early = deadline(100);
    clock.add(late.entry);
    clock.add(early.entry);
    expect(vi.getTimerCount()).toBe(1);

    await vi.advanceTimersByTimeAsync(99);
    expect(early.checks).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(early.checks).toEqual([100]);
    expect(late.checks).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(late.checks).toEqual([300]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('follows a deadline that moved later, as an idle deadline does', async () => {
    const clock = new DeadlineClock();
    const idle = deadline(100, 250);
    clock.add(idle.entry);
    await vi.advanceTimersByTimeAsync(100);
    expect(idle.checks).toEqual([100]);
    await vi.advanceTimersByTimeAsync(149);
    expect(idle.checks).toEqual([100]);
    await vi.advanceTimersByTimeAsync(1);
    expect(idle.checks).toEqual([100, 250]);
  });

  it('never checks a deadline that left; its timer expires once and is not re-armed', async () => {
    const clock = new DeadlineClock();
    const gone = deadline(100);
    const staying = deadline(300);
    clock.add(gone.entry);
    clock.add(staying.entry);
    clock.delete(gone.entry);
    await vi.advanceTimersByTimeAsync(100);
    expect(gone.checks).toEqual([]);
    // Re-armed for the deadline still on the clock only.
    expect(clock.timers).toBe(1);
    clock.delete(staying.entry);
    await vi.advanceTimersByTimeAsync(200);
    expect(staying.checks).toEqual([]);
    expect(clock.timers).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps the timer for requests one after another: no re-arming while a later deadline joins', async () => {
    const clock = new DeadlineClock();
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    for (let index = 0; index < 5; index++) {
      const attempt = deadline(Date.now() + 1_000);
      clock.add(attempt.entry);
      await vi.advanceTimersByTimeAsync(10);
      // The next attempt joins in the same turn the last one left, as a loop of requests does.
      clock.delete(attempt.entry);
    }
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    setTimeoutSpy.mockRestore();
  });

  it('arms a new timer when the timers were swapped since (fake timers in and out)', async () => {
    const clock = new DeadlineClock();
    clock.add(deadline(10_000).entry); // armed on the fake clock
    vi.useRealTimers();
    const real = deadline(Date.now() + 20);
    clock.add(real.entry);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(real.checks).toHaveLength(1);
  });

  it('re-arms for a deadline earlier than the armed one', async () => {
    const clock = new DeadlineClock();
    const late = deadline(1_000);
    const early = deadline(50);
    clock.add(late.entry);
    clock.add(early.entry);
    await vi.advanceTimersByTimeAsync(50);
    expect(early.checks).toEqual([50]);
    expect(late.checks).toEqual([]);
  });
});
