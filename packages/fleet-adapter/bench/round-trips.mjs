// The measurement every channel of fleet-ipc.bench.ts runs, in whichever thread or process owns
// the client side: sequential acquire latency, then pipelined acquire + release throughput.

/** Value at quantile `q` (0..1) of an ascending sorted array. */
function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Measures one budget: `latencyIterations` acquires one at a time (each awaited, then released),
 * then `throughputIterations` acquire + release round trips from `concurrency` loops at once.
 * The timed throughput run ends with one more acquire, which the owner can only grant after it
 * has applied every release sent before it, so fire-and-forget releases are inside the figure.
 */
export async function measureRoundTrips(budget, plan) {
  for (let i = 0; i < plan.warmupIterations; i++) (await budget.acquire()).release();

  const latencies = new Float64Array(plan.latencyIterations);
  for (let i = 0; i < plan.latencyIterations; i++) {
    const started = performance.now();
    const lease = await budget.acquire();
    latencies[i] = performance.now() - started;
    lease.release();
  }
  latencies.sort();

  let remaining = plan.throughputIterations;
  const loop = async () => {
    while (remaining > 0) {
      remaining--;
      (await budget.acquire()).release();
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: plan.concurrency }, loop));
  (await budget.acquire()).release();
  const elapsedMs = performance.now() - started;

  return {
    p50Us: quantile(latencies, 0.5) * 1000,
    p99Us: quantile(latencies, 0.99) * 1000,
    roundTripsPerSecond: (plan.throughputIterations / elapsedMs) * 1000,
  };
}
