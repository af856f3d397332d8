import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { didYouMean } from './closest-name.js';

/** One recorded exchange, loaded from `NAME.N.response.body` in the fixture folder. */
export interface Recording {
  /** File name without `.response.body`, e.g. `TestZAICommon__zai-glm-4.6__tool_streaming.0`. */
  name: string;

  /** True for an SSE recording, false for a single JSON document. */
  streaming: boolean;

  /** SSE: the JSON payload of every `data:` event before `[DONE]`, in order. */
  events: unknown[];

  /** Non-streaming: the recorded JSON document. */
  document: unknown;

  /** Output tokens the recording reports in `usage.completion_tokens` (0 when absent). */
  completionTokens: number;
}

/** What a request asks for, as far as choosing a recording goes. */
export type RecordingKind = 'text' | 'tool-call' | 'tool-result';

/**
 * The default recording for each kind and model family. glm-4.5 requests get the glm-4.5
 * recordings, everything else glm-4.6. A request whose last message is a tool result gets the
 * recorded follow-up answer (finish `stop`), so agent loops end instead of calling tools forever.
 */
const DEFAULT_NAMES: Record<'glm-4.5' | 'glm-4.6', Record<RecordingKind, string>> = {
  'glm-4.5': {
    text: 'TestOpenAICompatibleCommon__zai-glm-4.5__simple',
    'tool-call': 'TestOpenAICompatibleCommon__zai-glm-4.5__tool',
    'tool-result': 'TestOpenAICompatibleCommon__zai-glm-4.5__tool',
  },
  'glm-4.6': {
    text: 'TestZAICommon__zai-glm-4.6__simple',
    'tool-call': 'TestZAICommon__zai-glm-4.6__tool',
    'tool-result': 'TestZAICommon__zai-glm-4.6__tool',
  },
};

const BODY_SUFFIX = '.response.body';

/**
 * The package's own copy of the recorded traffic. The path is resolved from this module, which
 * sits in `src/` when run from sources and in `dist/` when built: both are one level below the
 * package root.
 */
export function defaultRecordingsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', 'fixtures', 'glm-recorded');
}

/**
 * Loads every `*.response.body` in a folder of recorded exchanges.
 *
 * @throws Error naming the folder when it is missing or holds no recordings, or the file that
 *   does not parse.
 */
export function loadRecordings(dir: string = defaultRecordingsDir()): Map<string, Recording> {
  if (!existsSync(dir)) {
    throw new Error(`recordingsDir: folder ${dir} does not exist; point it at glm-recorded`);
  }

  const recordings = new Map<string, Recording>();
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(BODY_SUFFIX)) continue;
    const name = file.slice(0, -BODY_SUFFIX.length);
    recordings.set(name, parseRecording(name, readFileSync(join(dir, file), 'utf8')));
  }

  if (recordings.size === 0) {
    throw new Error(`recordingsDir: no *${BODY_SUFFIX} files in ${dir}`);
  }
  return recordings;
}

function parseRecording(name: string, body: string): Recording {
  try {
    if (!body.trimStart().startsWith('data:')) {
      const document: unknown = JSON.parse(body);
      return { name, streaming: false, events: [], document, completionTokens: tokensOf(document) };
    }

    const events: unknown[] = [];
    for (const line of body.split(/\r?\n/)) {
      if (!line.startsWith('data:')) continue;
      const payload = line.slice('data:'.length).trim();
      if (payload === '[DONE]') break;
      events.push(JSON.parse(payload));
    }
    const completionTokens = events.reduce<number>(
      (max, event) => Math.max(max, tokensOf(event)),
      0,
    );
    return { name, streaming: true, events, document: undefined, completionTokens };
  } catch (error) {
    throw new Error(`recording ${name}${BODY_SUFFIX} does not parse: ${(error as Error).message}`);
  }
}

function tokensOf(value: unknown): number {
  const usage = (value as { usage?: { completion_tokens?: unknown } } | null)?.usage;
  return typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : 0;
}

/** Classifies a chat request body: tools present, and whether it answers a tool call. */
export function recordingKindOf(body: ChatBody): RecordingKind {
  const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
  if (!hasTools) return 'text';
  const last = Array.isArray(body.messages) ? body.messages.at(-1) : undefined;
  return last?.role === 'tool' ? 'tool-result' : 'tool-call';
}

/**
 * Picks the recording that answers a request: by name when one is forced, else by kind, model
 * family and whether the request streams.
 *
 * @throws Error naming the recording when it is unknown or streams differently from the request.
 */
export function selectRecording(
  recordings: Map<string, Recording>,
  body: ChatBody,
  forcedName?: string,
): Recording {
  const streaming = body.stream === true;

  if (forcedName !== undefined) {
    const forced = recordings.get(forcedName);
    if (forced === undefined) throw new Error(unknownRecordingMessage(forcedName, recordings));
    if (forced.streaming !== streaming) {
      throw new Error(
        `recording "${forcedName}" is ${forced.streaming ? '' : 'not '}a stream but the request ` +
          `has stream: ${String(streaming)}; pick a ${streaming ? '*_streaming' : 'non-streaming'} one`,
      );
    }
    return forced;
  }

  const family = String(body.model ?? '').startsWith('glm-4.5') ? 'glm-4.5' : 'glm-4.6';
  const kind = recordingKindOf(body);
  const turn = kind === 'tool-result' ? 1 : 0;
  const name = `${DEFAULT_NAMES[family][kind]}${streaming ? '_streaming' : ''}.${turn}`;
  const recording = recordings.get(name);
  if (recording === undefined) {
    throw new Error(`recording "${name}" is missing from the recordings folder`);
  }
  return recording;
}

/** Why `name` names no recording: the closest name when it looks like a typo, and every name. */
export function unknownRecordingMessage(name: string, recordings: Map<string, Recording>): string {
  const names = [...recordings.keys()];
  return (
    `recording "${name}" is not in the recordings folder${didYouMean(name, names)} ` +
    `(known recordings: ${names.join(', ')})`
  );
}

/** The parts of an OpenAI-style chat request body the simulator reads. */
export interface ChatBody {
  model?: unknown;
  stream?: unknown;
  messages?: Array<{ role?: unknown; content?: unknown }>;
  tools?: unknown[];
  max_tokens?: unknown;
}
