import {
  SluiceError,
  type ChatMessage,
  type ChatTool,
  type Router,
  type SluiceErrorKind,
  type SluiceEvent,
  type ToolCall,
} from '@sluice/core';
import { createFleet, type Fleet, type Session, type SessionStats } from '@sluice/fleet-adapter';

/** What one session is doing right now, for live progress. */
export type SessionState =
  'idle' | 'queued' | 'sending' | 'streaming' | 'backoff' | 'tool' | 'done' | 'cancelled';

/** One row of live progress. */
export interface SessionProgress {
  name: string;
  state: SessionState;
  turn: number;
  turns: number;
  tokens: number;
  retries: number;
  failures: number;
}

/** Options of {@link runFleetScenario}. */
export interface FleetScenarioOptions {
  router: Router;
  route?: string;
  /** Sub-agents besides the parent. */
  children: number;
  /** Model turns each session runs. */
  tasks: number;
  /** A simulated tool call between turns, in ms; it runs without a lease. Default 50. */
  toolMs?: number;
  /** Prompt of one turn. */
  prompt?: (session: string, turn: number) => string;
  /** Output cap of every turn, or of one turn (agents' answers vary in length). */
  maxTokens?: number | ((session: string, turn: number) => number);
  /**
   * Agent mode: each parent turn offers the model a tool; when the model calls it, the parent
   * spawns a sub-agent session for the call, waits for its answer and sends the tool result in a
   * follow-up request. The parent's lease ends with its response body, so the sub-agent can run
   * even at a budget of 1 (a lease covers one model request, never a turn).
   */
  delegate?: boolean;
  signal?: AbortSignal;
  /** Called once with the run's fleet, e.g. to show its session tree on the dashboard. */
  onFleet?: (fleet: Fleet) => void;
  /** Called on every state change (throttle the drawing on your side). */
  onProgress?: (rows: readonly SessionProgress[]) => void;
}

/** One session's line of the summary. */
export interface SessionReport {
  name: string;
  stats: SessionStats;
}

/** What a fan-out run did. */
export interface FleetReport {
  sessions: SessionReport[];
  /** Most leases held at once (attempts in flight), seen from the client. */
  peakInFlightClient: number;
  /** Requests that failed after every retry, by kind. */
  failuresByKind: Partial<Record<SluiceErrorKind, number>>;
  /**
   * The error message of the first failed request of each kind (the SluiceError message, which
   * the router has already redacted), so a summary can say why requests failed.
   */
  firstErrorByKind: Partial<Record<SluiceErrorKind, string>>;
  failures: number;
  requests: number;
  retries: number;
  /**
   * Attempts that got no response headers before their deadline (a timeout, retried or final):
   * the stall users see. An HTTP error answer or a refused connection is not one.
   */
  headerStalls: number;
  makespanMs: number;
  cancelled: boolean;
}

/**
 * Runs the fan-out the way a coding agent does: a parent session and `children` sub-agents, all
 * streaming from the same route at once, each running `tasks` turns with a short tool call between
 * turns. Every session draws from the router's one budget. A failed turn is counted and the
 * session moves on, as an agent would report the failure and continue.
 */
export async function runFleetScenario(options: FleetScenarioOptions): Promise<FleetReport> {
  const fleet = createFleet({ router: options.router });
  const sessions: Session[] = [fleet.root];
  for (let i = 1; i <= options.children; i += 1) sessions.push(fleet.root.spawn(`child-${i}`));
  options.onFleet?.(fleet);

  const progress = new Map<string, SessionProgress>();
  for (const session of sessions) {
    progress.set(session.id, {
      name: session.name,
      state: 'idle',
      turn: 0,
      turns: options.tasks,
      tokens: 0,
      retries: 0,
      failures: 0,
    });
  }
  const notify = () => options.onProgress?.([...progress.values()]);
  const tracker = trackInFlight();
  const unsubscribe = options.router.subscribe((event) => {
    tracker.observe(event);
    const row = event.sessionId === undefined ? undefined : progress.get(event.sessionId);
    if (row && applyEvent(row, event)) notify();
  });

  const onAbort = () => fleet.root.cancel(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const startedAt = performance.now();
  try {
    await Promise.all(
      sessions.map((session) => runSession(session, progress.get(session.id)!, options, notify)),
    );
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    unsubscribe();
  }
  const makespanMs = performance.now() - startedAt;

  const reports = sessions.map((session) => ({ name: session.name, stats: session.stats() }));
  return summarize(reports, {
    makespanMs,
    peakInFlightClient: tracker.peak(),
    headerStalls: tracker.headerStalls(),
    firstErrorByKind: tracker.firstErrorByKind(),
    cancelled: options.signal?.aborted ?? false,
  });
}

async function runSession(
  session: Session,
  row: SessionProgress,
  options: FleetScenarioOptions,
  notify: () => void,
): Promise<void> {
  const prompt = options.prompt ?? defaultPrompt;
  // The run's own signal decides when to stop: a fleet session stays usable after cancel() (it
  // only aborts what is in flight), so its signal is not the one to watch.
  const stop = options.signal ?? new AbortController().signal;
  for (let turn = 1; turn <= options.tasks; turn += 1) {
    if (stop.aborted) break;
    row.turn = turn;
    row.state = 'queued';
    notify();

    try {
      const messages: ChatMessage[] = [{ role: 'user', content: prompt(session.name, turn) }];
      const tools = options.delegate && session.parent === undefined ? [DELEGATE_TOOL] : undefined;
      const calls = await streamTurn(session, row, { messages, tools }, turn, options);
      if (calls.length > 0) {
        row.state = 'tool';
        notify();
        const results = await Promise.all(
          calls.map((call, i) =>
            runDelegate(session, `${session.name}-sub-${turn}-${i + 1}`, call, options),
          ),
        );
        messages.push(
          {
            role: 'assistant',
            content: null,
            tool_calls: calls.map((call) => ({
              id: call.id,
              type: 'function' as const,
              function: { name: call.name, arguments: call.arguments },
            })),
          },
          ...results.map((text, i) => ({
            role: 'tool' as const,
            tool_call_id: calls[i]!.id,
            content: text,
          })),
        );
        await streamTurn(session, row, { messages, tools }, turn, options);
      }
    } catch (error) {
      if (stop.aborted) break;
      row.failures += 1;
      if (!SluiceError.isInstance(error)) throw error;
    }

    // The tool call runs between turns: after the last answer the session is done.
    if (turn === options.tasks) break;
    row.state = 'tool';
    notify();
    await sleep(options.toolMs ?? 50, stop);
  }
  row.state = stop.aborted ? 'cancelled' : 'done';
  notify();
}

/** The tool a delegating parent offers: hand a task to a sub-agent. */
export const DELEGATE_TOOL: ChatTool = {
  type: 'function',
  function: {
    name: 'run_subagent',
    description: 'Hand a task to a sub-agent and wait for its answer.',
    parameters: {
      type: 'object',
      properties: { task: { type: 'string', description: 'what the sub-agent should do' } },
      required: ['task'],
    },
  },
};

async function streamTurn(
  session: Session,
  row: SessionProgress,
  request: { messages: ChatMessage[]; tools: ChatTool[] | undefined },
  turn: number,
  options: FleetScenarioOptions,
): Promise<ToolCall[]> {
  const maxTokens =
    typeof options.maxTokens === 'function'
      ? options.maxTokens(session.name, turn)
      : options.maxTokens;
  const stream = session.chat(
    {
      messages: request.messages,
      ...(request.tools ? { tools: request.tools } : {}),
      ...(maxTokens ? { maxTokens } : {}),
    },
    options.route ? { route: options.route } : {},
  );
  const calls: ToolCall[] = [];
  for await (const event of stream) {
    if (event.type === 'text-delta' || event.type === 'reasoning-delta') row.tokens += 1;
    else if (event.type === 'tool-call') calls.push(event);
  }
  return calls;
}

/** Runs one tool call as a sub-agent session: one model request, drawn from the same budget. */
async function runDelegate(
  parent: Session,
  name: string,
  call: ToolCall,
  options: FleetScenarioOptions,
): Promise<string> {
  const child = parent.spawn(name);
  const stream = child.chat(
    { messages: [{ role: 'user', content: `Sub-task from ${parent.name}: ${call.arguments}` }] },
    options.route ? { route: options.route } : {},
  );
  return stream.text();
}

function applyEvent(row: SessionProgress, event: SluiceEvent): boolean {
  switch (event.type) {
    case 'queued':
      row.state = 'queued';
      return true;
    case 'lease-acquired':
      row.state = 'sending';
      return true;
    case 'first-token':
      row.state = 'streaming';
      return true;
    case 'retry':
      row.state = 'backoff';
      row.retries += 1;
      return true;
    default:
      return false;
  }
}

/**
 * Counts attempts holding a lease (acquired, not yet released), header stalls, and keeps the
 * first error message of each failure kind.
 */
function trackInFlight() {
  let active = 0;
  let peak = 0;
  let stalls = 0;
  const firstErrors: Partial<Record<SluiceErrorKind, string>> = {};
  // Attempts that got response headers, by request: a timeout after them is a first-token or
  // idle deadline, not a header stall. Dropped when the request ends.
  const answered = new Map<string, Set<number>>();
  return {
    observe(event: SluiceEvent) {
      switch (event.type) {
        case 'lease-acquired':
          peak = Math.max(peak, (active += 1));
          break;
        case 'lease-released':
          active -= 1;
          break;
        case 'headers': {
          const attempts = answered.get(event.requestId) ?? new Set<number>();
          answered.set(event.requestId, attempts.add(event.attempt));
          break;
        }
        case 'retry':
          // A retry event names no phase; before any headers only the headers (or total)
          // deadline can fire, so a timeout of an attempt without headers is a header stall.
          if (event.kind === 'timeout' && !answered.get(event.requestId)?.has(event.attempt)) {
            stalls += 1;
          }
          break;
        case 'request-end':
          answered.delete(event.requestId);
          if (event.error?.kind === 'timeout' && event.error.phase === 'headers') stalls += 1;
          if (event.outcome === 'failure' && event.error) {
            firstErrors[event.error.kind] ??= event.error.message;
          }
          break;
        default:
          break;
      }
    },
    peak: () => peak,
    headerStalls: () => stalls,
    firstErrorByKind: () => ({ ...firstErrors }),
  };
}

function summarize(
  sessions: SessionReport[],
  run: Pick<
    FleetReport,
    'makespanMs' | 'peakInFlightClient' | 'headerStalls' | 'firstErrorByKind' | 'cancelled'
  >,
): FleetReport {
  const failuresByKind: Partial<Record<SluiceErrorKind, number>> = {};
  let failures = 0;
  let requests = 0;
  let retries = 0;
  for (const { stats } of sessions) {
    requests += stats.requests;
    retries += stats.retries;
    failures += stats.failed;
    for (const [kind, count] of Object.entries(stats.failuresByKind)) {
      const key = kind as SluiceErrorKind;
      failuresByKind[key] = (failuresByKind[key] ?? 0) + (count ?? 0);
    }
  }
  return { sessions, failuresByKind, failures, requests, retries, ...run };
}

function defaultPrompt(session: string, turn: number): string {
  return `You are ${session}. Step ${turn}: summarise what a budget of concurrent requests is for.`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
