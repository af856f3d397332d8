// Client side of fleet-ipc.bench.ts, run in a worker thread, a forked process or a plain process
// attached through SLUICE_BUDGET. Reports its figures to the parent and exits.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

import { attachBudget } from '@sluice/fleet-adapter';

import { measureRoundTrips } from './round-trips.mjs';

const plan = isMainThread ? JSON.parse(process.argv[2] ?? '{}') : workerData;
const budgets = attachBudget();
const result = await measureRoundTrips(budgets.get(plan.key, { limit: plan.limit }), plan);
const message = { type: 'result', ...result };
if (!isMainThread) parentPort.postMessage(message);
else if (typeof process.send === 'function') process.send(message);
else process.stdout.write(`${JSON.stringify(message)}\n`);
await budgets.close();
