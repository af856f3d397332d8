import type { z } from 'zod';
import { maskSecret, redactSecrets } from '../errors/redact.js';
import type { ConfigIssue } from './config-error.js';
import { closestName } from './closest-name.js';

/** A path as zod gives it: keys and array indexes. */
export type IssuePath = readonly PropertyKey[];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['providers', 'glm', 'maxConcurrency']` -> `providers.glm.maxConcurrency`; indexes as `[0]`. */
export function formatPath(path: IssuePath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      out += IDENTIFIER.test(key) ? (out === '' ? key : `.${key}`) : `[${JSON.stringify(key)}]`;
    }
  }
  return out === '' ? '(root)' : out;
}

// Any of these segments anywhere in a path marks the value as a secret. Over-masking costs a
// little clarity; under-masking leaks a key into a terminal or a log.
const SECRET_SEGMENT =
  /(api[-_]?key|token|secret|password|passwd|authorization|cookie|credential)/i;
const NOT_SECRET_SEGMENT = /^(envVars|apiKeyEnv|apiKeyEnvTried)$/;

/** True when the value at `path` may be a credential: under apiKey, headers, a token, ... */
export function isSecretPath(path: IssuePath): boolean {
  return path.some((segment) => {
    if (typeof segment !== 'string') return false;
    if (NOT_SECRET_SEGMENT.test(segment)) return false;
    return segment === 'headers' || SECRET_SEGMENT.test(segment);
  });
}

/**
 * True for a string that looks like a credential wherever it was written: `sk-…` style keys, and
 * tokens with a long run of mixed letters and digits (Zhipu's `id.secret` keys, JWTs, hex
 * secrets). A key pasted into the wrong field (`endpoint`, `use`, a route's `provider`) is then
 * masked like one under `apiKey`. Model, route and package names have short segments and pass.
 */
export function looksLikeSecret(value: string): boolean {
  if (value.length < 12 || /\s/.test(value) || value.includes('://') || value.startsWith('env:')) {
    return false;
  }
  if (/^(sk|pk|rk|ak)[-_]/i.test(value)) return true;
  return value
    .split(/[-_.:/+=]/)
    .some((segment) => segment.length >= 16 && /[a-z]/i.test(segment) && /\d/.test(segment));
}

/** Hides the password in `redis://user:pass@host`; other strings pass unchanged. */
export function maskUrlCredentials(value: string): string {
  if (!URL.canParse(value)) return value;
  const url = new URL(value);
  if (url.password === '' && url.username === '') return value;
  if (url.password !== '') url.password = '***';
  else url.username = '***';
  return url.toString();
}

/** Names of headers and query parameters whose values are secrets. */
export const SECRET_NAME = /(auth|key|token|secret|cookie|signature|password|credential)/i;

/**
 * The URL with its user info and any secret-looking query parameter (`api_key`, `token`, ...)
 * masked: some endpoints are configured with the key in the query string.
 */
export function maskUrlSecrets(value: string): string {
  const masked = maskUrlCredentials(value);
  if (!URL.canParse(masked)) return masked;
  const url = new URL(masked);
  let changed = false;
  for (const [name, param] of [...url.searchParams]) {
    if (!SECRET_NAME.test(name) || param === '') continue;
    url.searchParams.set(name, '***');
    changed = true;
  }
  return changed ? url.toString() : masked;
}

const MAX_VALUE_CHARS = 80;

/**
 * A short, printable form of a bad value; secrets masked with {@link maskSecret}. Undefined
 * values give undefined (the issue then says the field is missing).
 */
export function describeValue(value: unknown, path: IssuePath): string | undefined {
  if (value === undefined) return undefined;
  if (isSecretPath(path)) {
    if (typeof value === 'string') return JSON.stringify(maskSecret(value));
    if (typeof value === 'object' && value !== null) return '(hidden: may hold secrets)';
    return `a ${typeof value} (hidden)`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return String(value);
  }
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') {
    if (looksLikeSecret(value)) return JSON.stringify(maskSecret(value));
    return truncate(JSON.stringify(maskUrlSecrets(value)));
  }
  if (typeof value === 'bigint' || typeof value === 'symbol') return String(value);
  return truncate(safeJson(value));
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, inner: unknown) =>
      typeof inner === 'function' ? '[function]' : inner,
    );
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function truncate(text: string): string {
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

/**
 * Every string under a secret path of `input`: literal API keys, header values, tokens. Used to
 * redact messages as a second line of defence, whatever path a value was reported under.
 */
export function collectSecrets(input: unknown, path: PropertyKey[] = [], out: string[] = []) {
  if (typeof input === 'string') {
    if ((isSecretPath(path) && !input.startsWith('env:')) || looksLikeSecret(input))
      out.push(input);
    return out;
  }
  if (typeof input !== 'object' || input === null || path.length > 12) return out;
  for (const [key, value] of Object.entries(input)) {
    collectSecrets(value, [...path, Array.isArray(input) ? Number(key) : key], out);
  }
  return out;
}

/** Applies {@link redactSecrets} to every text field of each issue. */
export function redactIssues(issues: ConfigIssue[], secrets: readonly string[]): ConfigIssue[] {
  if (secrets.length === 0) return issues;
  return issues.map((issue) => ({
    path: redactSecrets(issue.path, secrets),
    message: redactSecrets(issue.message, secrets),
    ...(issue.value === undefined ? {} : { value: redactSecrets(issue.value, secrets) }),
    fix: redactSecrets(issue.fix, secrets),
  }));
}

const MS_FIX = 'write a whole number of milliseconds >= 0, e.g. 600000 (0 turns the deadline off)';
const DELAY_FIX = 'write a whole number of milliseconds >= 0, e.g. 500';

// Fixes by field name: a message that says what to write, not only what is wrong.
const FIELD_FIXES: Record<string, string> = {
  maxConcurrency:
    'write a whole number >= 0, e.g. 3 (0 = no client-side cap; requests are still counted)',
  queueMs: MS_FIX,
  headersMs: MS_FIX,
  firstTokenMs: MS_FIX,
  idleMs: MS_FIX,
  totalMs: MS_FIX,
  baseDelayMs: DELAY_FIX,
  maxDelayMs: DELAY_FIX,
  maxServerWaitMs: DELAY_FIX,
  maxAttempts: 'write a whole number >= 1, e.g. 4 (1 = no retries)',
  use: "name a provider package (e.g. '@sluice/provider-zhipu') or a descriptor id or alias",
  apiKey: "write 'env:NAME' to read the key from an environment variable (or the key itself)",
  endpoint: "name one of the provider's endpoints or write an https:// base URL",
  allowInsecure: 'write true or false',
  backend: "write 'memory' or 'redis'",
  scope: "write 'instance' or 'model'",
  model: "name the model id to send, e.g. 'glm-4.6'",
  provider: 'name a key of `providers`',
  fallbacks: 'list route names, e.g. ["backup"]',
  headers: 'write header values as strings, e.g. { "x-team": "agents" }',
  providerOptions: 'write an object of provider-specific request fields',
  defaultRoute: 'name a key of `routes`',
  id: "write a short id of letters, digits, '.', '_' or '-', e.g. 'my-llm'",
  endpoints: "write named base URLs, e.g. { default: 'https://api.example.com/v1' }",
  chatPath: "write a path starting with '/', e.g. '/chat/completions'",
  contextWindow: 'write the context window in tokens, a whole number > 0',
  maxOutputTokens: 'write the output limit in tokens, a whole number > 0',
  budgetScope: "write 'instance' or 'model'",
  envVars: 'list env var names, e.g. ["MY_API_KEY"]',
  url: "write the Redis URL, e.g. 'redis://127.0.0.1:6379'",
  providers:
    "write an object of provider instances, e.g. { glm: { use: '@sluice/provider-zhipu' } }",
  routes: "write an object of routes, e.g. { default: { provider: 'glm', model: 'glm-4.6' } }",
  descriptor: 'write a provider descriptor, e.g. openAICompatible({ id, baseURL })',
  timeouts: 'write an object such as { idleMs: 600000 }',
  retry: 'write an object such as { maxAttempts: 3 }',
  budget: "write an object such as { backend: 'memory' }",
  adaptive: 'write an object such as { min: 1, max: 10 }',
  increaseAfter: 'write a whole number of clean streams >= 1, e.g. 3',
  decreaseFactor: 'write a number between 0 and 1, e.g. 0.5',
};

function lastNamedSegment(path: IssuePath): string | undefined {
  for (let index = path.length - 1; index >= 0; index--) {
    const segment = path[index];
    if (typeof segment === 'string') return segment;
  }
  return undefined;
}

function fixFor(issue: z.core.$ZodIssue, path: IssuePath): string {
  if (issue.code === 'invalid_value') {
    return `use one of: ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
  }
  const field = lastNamedSegment(path);
  if (field !== undefined && field in FIELD_FIXES) return FIELD_FIXES[field] as string;
  if (path.length === 0)
    return 'export an object: defineConfig({ providers: { ... }, routes: { ... } })';
  if (issue.code === 'invalid_key') {
    return path.includes('headers')
      ? "rename the header, e.g. 'x-team'"
      : "rename it: a name without spaces or ':'";
  }
  if (issue.code === 'invalid_type') return `write ${expectedWords(issue.expected)}`;
  if (issue.code === 'too_small') return `use a value >= ${String(issue.minimum)}`;
  if (issue.code === 'too_big') return `use a value <= ${String(issue.maximum)}`;
  return 'correct the value';
}

/** zod's expected type in plain words: `record` and `object` are both "an object". */
function expectedWords(expected: string): string {
  if (expected === 'record' || expected === 'object') return 'an object';
  return `${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`;
}

/** What a value is, in the words of a message: `NaN`, `Infinity`, `array`, `null`, `string`. */
function typeName(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function messageFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined)
        return `is required (expected ${expectedWords(issue.expected)})`;
      if (issue.expected === 'int') return 'must be a whole number';
      return `must be ${expectedWords(issue.expected)}, not ${typeName(issue.input)}`;
    }
    case 'too_small':
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return 'must not be empty';
      if (issue.origin === 'array') return `must have at least ${String(issue.minimum)} item(s)`;
      return `must be ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}`;
    case 'invalid_key': {
      const inner = issue.issues[0]?.message;
      return `is not a valid name${inner ? `: ${inner}` : ''}`;
    }
    case 'too_big':
      return `must be ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}`;
    case 'invalid_value': {
      const accepted = issue.values.filter((value): value is string => typeof value === 'string');
      if (issue.input === undefined) return 'is required';
      const suggestion =
        typeof issue.input === 'string' ? closestName(issue.input, accepted) : undefined;
      return `is not an accepted value${suggestion ? `; did you mean "${suggestion}"?` : ''}`;
    }
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

type ZodDef = { type: string; [key: string]: unknown };

function defOf(schema: unknown): ZodDef | undefined {
  const def = (schema as { _zod?: { def?: ZodDef } } | undefined)?._zod?.def;
  return def;
}

// Wrappers that hold one inner schema under `innerType` (or `in` for pipes).
function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let depth = 0; depth < 16; depth++) {
    const def = defOf(current);
    if (!def) return current;
    if ('innerType' in def) current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else return current;
  }
  return current;
}

/** The keys an object schema accepts at `path`, for did-you-mean; empty when unknown. */
export function knownKeysAt(schema: unknown, path: IssuePath): string[] {
  let current = unwrap(schema);
  for (const segment of path) {
    const def = defOf(current);
    if (!def) return [];
    if (def.type === 'object') current = (def.shape as Record<string, unknown>)[String(segment)];
    else if (def.type === 'record') current = def.valueType;
    else if (def.type === 'array') current = def.element;
    else return [];
    current = unwrap(current);
  }
  const def = defOf(current);
  return def?.type === 'object' ? Object.keys(def.shape as Record<string, unknown>) : [];
}

function valueAt(input: unknown, path: IssuePath): unknown {
  let current = input;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/** Options of {@link zodIssuesToConfigIssues}. */
export interface ConvertIssuesOptions {
  /** The schema that failed, for the keys it accepts (did-you-mean). */
  schema: unknown;
  /** The value that was parsed, to report each offending value. */
  input: unknown;
  /** Prepended to every path, e.g. `['providers', 'x', 'descriptor']`. */
  prefix?: IssuePath;
}

/**
 * Turns zod's issues into {@link ConfigIssue}s: full path, a plain message, the offending value
 * (masked under secret paths) and a fix. An unknown key becomes one issue per key, with a
 * did-you-mean when a known key is close.
 */
export function zodIssuesToConfigIssues(
  issues: readonly z.core.$ZodIssue[],
  options: ConvertIssuesOptions,
): ConfigIssue[] {
  const prefix = options.prefix ?? [];
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(options.schema, issue.path);
      for (const key of issue.keys) {
        out.push(
          unknownKeyIssue([...prefix, ...issue.path, key], key, known, options.input, issue.path),
        );
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      out.push(...zodIssuesToConfigIssues(issue.errors[0] ?? [], options));
      continue;
    }
    const path = [...prefix, ...issue.path];
    // For a bad record key the offending value is the key itself, not the entry under it.
    const offending =
      issue.code === 'invalid_key'
        ? issue.path[issue.path.length - 1]
        : valueAt(options.input, issue.path);
    const value = describeValue(offending, path);
    out.push({
      path: formatPath(path),
      message: messageFor(issue),
      ...(value === undefined ? {} : { value }),
      fix: fixFor(issue, path),
    });
  }
  return out;
}

function unknownKeyIssue(
  path: IssuePath,
  key: string,
  known: readonly string[],
  input: unknown,
  parentPath: IssuePath,
): ConfigIssue {
  const suggestion = closestName(key, known);
  const value = describeValue(valueAt(input, [...parentPath, key]), [
    ...path.slice(0, -1),
    // The value of a misspelt secret field (`apikey`) is as secret as the real one.
    suggestion ?? key,
  ]);
  return {
    path: formatPath(path),
    message: suggestion ? `unknown key; did you mean "${suggestion}"?` : 'unknown key',
    ...(value === undefined ? {} : { value }),
    fix: suggestion
      ? `rename it to "${suggestion}"`
      : known.length > 0
        ? `remove it; accepted keys here: ${known.join(', ')}`
        : 'remove it',
  };
}
