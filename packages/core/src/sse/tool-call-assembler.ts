import type { ChatEvent, ToolCall } from '../events/chat-events.js';

interface PendingCall {
  index: number;
  id: string;
  name: string;
  arguments: string;
}

/**
 * Assembles streamed `delta.tool_calls` fragments into whole calls. Providers do not agree on the
 * fields, so none is trusted on its own:
 *
 * - fragments are grouped by `index`; the first non-empty `id` and `name` of a call win (GLM and
 *   others send a fresh `id` on every fragment of one call);
 * - a fragment with no usable index (missing, negative, not an integer) continues the last call,
 *   or starts one at the next free index when there is none;
 * - a fragment that names a function while the call it would join already has a name and complete
 *   JSON arguments starts a new call at the next free index (providers that send several whole
 *   calls without an index, or all at index 0); at an explicit index this also needs a different
 *   non-empty id, so a repeated fragment of the same call is not split off;
 * - `arguments` sent as a JSON value rather than a string is serialized, so arguments always come
 *   out as a JSON string; a call that never got any arguments gets `{}`.
 */
export class ToolCallAssembler {
  private readonly calls = new Map<number, PendingCall>();
  private readonly byWireIndex = new Map<number, PendingCall>();
  private last: PendingCall | undefined;
  private nextIndex = 0;

  /** True when at least one fragment arrived. */
  get hasCalls(): boolean {
    return this.calls.size > 0;
  }

  /**
   * Adds one wire fragment and pushes its `tool-call-delta` event onto `out`. With `whole` (the
   * `message.tool_calls` of a non-streaming response) the fragment is a complete call of its own,
   * at its index when that is free and valid, else at the next free index.
   */
  add(fragment: unknown, out: ChatEvent[], whole = false): void {
    if (typeof fragment !== 'object' || fragment === null) return;
    const wire = fragment as Record<string, unknown>;
    const fn = wire.function;
    const fnFields =
      typeof fn === 'object' && fn !== null ? (fn as Record<string, unknown>) : undefined;

    const id = typeof wire.id === 'string' ? wire.id : '';
    const name = typeof fnFields?.name === 'string' ? fnFields.name : '';
    const argumentsDelta = serializeArguments(fnFields?.arguments);
    const call = whole
      ? this.createWhole(readIndex(wire.index))
      : this.callFor(readIndex(wire.index), id, name);

    const event: ChatEvent & { type: 'tool-call-delta' } = {
      type: 'tool-call-delta',
      index: call.index,
      argumentsDelta,
    };
    if (call.id === '' && id !== '') {
      call.id = id;
      event.id = id;
    }
    if (call.name === '' && name !== '') {
      call.name = name;
      event.name = name;
    }
    call.arguments += argumentsDelta;
    out.push(event);
  }

  /** The assembled calls in index order; ids the provider never sent are generated. */
  result(): ToolCall[] {
    const calls = [...this.calls.values()].sort((a, b) => a.index - b.index);
    return calls.map((call) => ({
      index: call.index,
      id: call.id === '' ? generatedId() : call.id,
      name: call.name,
      arguments: call.arguments === '' ? '{}' : call.arguments,
    }));
  }

  /** Pushes one `tool-call` event per assembled call, in index order. */
  drain(out: ChatEvent[]): void {
    for (const call of this.result()) out.push({ type: 'tool-call', ...call });
  }

  private callFor(wireIndex: number | undefined, id: string, name: string): PendingCall {
    if (wireIndex === undefined) {
      const last = this.last;
      if (last === undefined || startsAnotherCall(last, name)) return this.create(this.nextIndex);
      return last;
    }

    // A wire index names the call it continues; when a provider reuses an index for a new call,
    // later fragments at that index belong to the newest call, hence the separate map.
    let call = this.byWireIndex.get(wireIndex);
    if (call === undefined) {
      call = this.create(this.calls.has(wireIndex) ? this.nextIndex : wireIndex);
      this.byWireIndex.set(wireIndex, call);
    } else if (id !== '' && call.id !== '' && id !== call.id && startsAnotherCall(call, name)) {
      call = this.create(this.nextIndex);
      this.byWireIndex.set(wireIndex, call);
    }
    return call;
  }

  private createWhole(index: number | undefined): PendingCall {
    return this.create(index === undefined || this.calls.has(index) ? this.nextIndex : index);
  }

  private create(index: number): PendingCall {
    const call: PendingCall = { index, id: '', name: '', arguments: '' };
    this.calls.set(index, call);
    this.last = call;
    if (index >= this.nextIndex) this.nextIndex = index + 1;
    return call;
  }
}

function readIndex(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

function serializeArguments(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return JSON.stringify(value);
}

function startsAnotherCall(call: PendingCall, name: string): boolean {
  return name !== '' && call.name !== '' && isCompleteJson(call.arguments);
}

function isCompleteJson(text: string): boolean {
  if (text === '') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function generatedId(): string {
  return `call_${globalThis.crypto.randomUUID().replaceAll('-', '')}`;
}
