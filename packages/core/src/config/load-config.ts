import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createJiti } from 'jiti';
import { checkProviderDescriptor } from '../descriptor/define-provider.js';
import type { ProviderDescriptor } from '../descriptor/types.js';
import { maskSecret } from '../errors/redact.js';
import { ConfigError } from './config-error.js';
import type { PackageLoadFailure, ResolveConfigOptions } from './resolve-config.js';
import { looksLikePackageName, tagDescriptorPackage } from './descriptor-index.js';
import type { RouteConfig } from './route-config-schema.js';

/** Config file names looked for, in this order: TypeScript first, JSON last. */
export const CONFIG_FILE_NAMES: readonly string[] = Object.freeze([
  'sluice.config.ts',
  'sluice.config.mts',
  'sluice.config.cts',
  'sluice.config.mjs',
  'sluice.config.js',
  'sluice.config.cjs',
  'sluice.config.json',
]);

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Where to look for `sluice.config.*`. Default `process.cwd()`. */
  cwd?: string;
  /** A config file to load instead of searching; relative to `cwd`. */
  file?: string;
}

/**
 * A loaded config file and the provider packages it names. Pass it whole as the options of
 * `resolveConfig(loaded.config, { ...loaded, env })`: its fields are the ones resolveConfig reads.
 */
export interface LoadedConfig extends Required<Pick<ResolveConfigOptions, 'file'>> {
  /** The config as the file exports it, not yet validated (resolveConfig does that). */
  config: RouteConfig;
  /** Every descriptor loaded from a provider package. */
  providers: ProviderDescriptor[];
  /** The same descriptors by the package name `use` gives. */
  packages: Record<string, ProviderDescriptor>;
  /** Packages that could not be loaded; resolveConfig reports them with the rest. */
  packageFailures: Record<string, PackageLoadFailure>;
  /** Absolute path of the config file. */
  file: string;
}

/**
 * The first `sluice.config.{ts,mts,cts,mjs,js,cjs,json}` in `cwd` (not its parents), or
 * undefined when there is none.
 */
export function findConfigFile(cwd: string = process.cwd()): string | undefined {
  for (const name of CONFIG_FILE_NAMES) {
    const candidate = resolve(cwd, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function loadIssue(file: string, message: string, fix: string): ConfigError {
  return new ConfigError({ file, issues: [{ path: '(file)', message, fix }] });
}

// Only the first line of a loader error: Babel and Node add code frames that quote the source,
// and the source may hold a literal API key.
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = (text.split('\n', 1)[0] ?? '').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/**
 * A load error as one line with no source in it: the error's kind, its first line and, when the
 * message names one in `file` (a parse error does), the line and column.
 */
function describeLoadError(error: unknown, file: string): string {
  let line = firstLine(error);
  if (error instanceof Error && error.name !== 'Error' && !line.startsWith(error.name)) {
    line = `${error.name}: ${line}`;
  }
  line = maskKeyLike(line);
  const message = error instanceof Error ? error.message : String(error);
  const at = message.indexOf(`${file}:`);
  const position = at === -1 ? null : /^:(\d+)(?::(\d+))?/.exec(message.slice(at + file.length));
  if (position === null) return line;
  return `${line} at line ${position[1]}${position[2] === undefined ? '' : `, column ${position[2]}`}`;
}

/**
 * Masks what looks like a key in an error the config's own code threw (`throw new Error(key)`):
 * runs of 16 or more letters, digits, `_` and `-` holding both a letter and a digit.
 */
function maskKeyLike(text: string): string {
  return text.replace(/[A-Za-z0-9_-]{16,}/g, (token) =>
    /[0-9]/.test(token) && /[A-Za-z]/.test(token) ? maskSecret(token) : token,
  );
}

/** The package a load error says it could not find, when it names one. */
function missingPackage(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const specifier = /Cannot find (?:module|package) '([^']+)'/.exec(message)?.[1];
  const local = specifier === undefined || /^(\.|node:)/.test(specifier) || isAbsolute(specifier);
  if (local) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const LOADABLE_EXTENSIONS = ['.ts', '.mts', '.cts', '.mjs', '.js', '.cjs', '.json'];

async function readConfigModule(file: string): Promise<unknown> {
  if (file.endsWith('.json')) {
    const text = await readFile(file, 'utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw loadIssue(file, `is not valid JSON: ${firstLine(error)}`, 'fix the JSON syntax');
    }
  }

  // jiti loads TypeScript and every JS module flavour. `tryNative` lets plain ESM (zod, a built
  // @sluice/core) load natively: transforming those through Babel took 1.3 s for zod alone, 90 ms
  // natively. The module cache is off so that reloading a TS config sees the file as it is now.
  // TODO(config): a reloaded .mjs/.js config comes from Node's ESM cache; add a cache-busting
  // query if live reload of JS configs is needed.
  const jiti = createJiti(file, { moduleCache: false, tryNative: true, interopDefault: true });
  let namespace: Record<string, unknown>;
  try {
    namespace = await jiti.import<Record<string, unknown>>(file);
  } catch (error) {
    const missing = missingPackage(error);
    throw loadIssue(
      file,
      `could not be loaded: ${describeLoadError(error, file)}`,
      missing === undefined
        ? 'fix the error in the config file (run it with node or tsc to see where)'
        : `install it where the config file is: npm install ${missing}`,
    );
  }
  // jiti answers `.default` of a module without one with the module itself: ask for the key.
  if (!Object.keys(namespace).includes('default')) {
    const names = Object.keys(namespace);
    throw loadIssue(
      file,
      `has no default export${names.length > 0 ? ` (it exports ${names.join(', ')})` : ''}`,
      'export the config as the default: export default defineConfig({ providers, routes })',
    );
  }
  return namespace.default;
}

function descriptorCandidates(namespace: unknown): unknown[] {
  if (typeof namespace !== 'object' || namespace === null) return [];
  const module = namespace as Record<string, unknown>;
  const inner = module.default as Record<string, unknown> | undefined;
  // ESM: `default` or `provider`; CJS through import(): the same under `default`.
  return [module.default, module.provider, inner?.default, inner?.provider].filter(
    (value) => typeof value === 'object' && value !== null,
  );
}

function looksLikeDescriptor(value: unknown): boolean {
  const record = value as Record<string, unknown>;
  return typeof record.id === 'string' && typeof record.endpoints === 'object';
}

async function loadProviderPackage(
  use: string,
  file: string,
): Promise<ProviderDescriptor | PackageLoadFailure> {
  const jiti = createJiti(file);
  const resolved = jiti.esmResolve(use, { try: true, parentURL: pathToFileURL(file) });
  if (resolved === undefined) {
    return { reason: 'not-installed', message: `cannot be resolved from ${file}` };
  }

  let namespace: unknown;
  try {
    namespace = await import(
      resolved.startsWith('file:') ? resolved : pathToFileURL(resolved).href
    );
  } catch (error) {
    return { reason: 'load-failed', message: firstLine(error) };
  }

  const candidate = descriptorCandidates(namespace).find(looksLikeDescriptor);
  if (candidate === undefined) {
    return { reason: 'no-descriptor', message: 'it exports no provider descriptor' };
  }
  const checked = checkProviderDescriptor(candidate);
  if (checked.descriptor) {
    tagDescriptorPackage(checked.descriptor, use);
    return checked.descriptor;
  }
  const details = checked.issues.map((issue) => `${issue.path} ${issue.message}`).join('; ');
  return { reason: 'no-descriptor', message: `its descriptor is invalid: ${details}` };
}

// A bare id (`use: 'zhipu'`) is tried under the conventional package names, so that an
// installed provider package works without spelling out its package name.
const CONVENTIONAL_PACKAGES = (id: string) => [`@sluice/provider-${id}`, `sluice-provider-${id}`];

const BARE_ID = /^[a-z0-9][a-z0-9._-]*$/i;

function allUses(config: unknown): string[] {
  if (typeof config !== 'object' || config === null) return [];
  const providers = (config as { providers?: unknown }).providers;
  if (typeof providers !== 'object' || providers === null) return [];
  const uses = Object.values(providers).map((instance: unknown) =>
    typeof instance === 'object' && instance !== null
      ? (instance as { use?: unknown }).use
      : undefined,
  );
  return [...new Set(uses.filter((use): use is string => typeof use === 'string'))];
}

/** Imports the packages `use` names; a bare id is tried under the conventional names. */
async function loadProviderPackages(config: unknown, file: string) {
  const packages: Record<string, ProviderDescriptor> = {};
  const packageFailures: Record<string, PackageLoadFailure> = {};
  for (const use of allUses(config)) {
    if (looksLikePackageName(use)) {
      const loaded = await loadProviderPackage(use, file);
      if ('reason' in loaded) packageFailures[use] = loaded;
      else packages[use] = loaded;
      continue;
    }
    if (!BARE_ID.test(use)) continue;
    for (const name of CONVENTIONAL_PACKAGES(use)) {
      const loaded = await loadProviderPackage(name, file);
      // Not installed under this name is the normal case for an id; only real failures count.
      if (!('reason' in loaded)) {
        packages[name] = loaded;
        break;
      }
      if (loaded.reason !== 'not-installed') {
        packageFailures[use] = { ...loaded, packageName: name };
        break;
      }
    }
  }
  return { packages, packageFailures };
}

/**
 * Finds and loads the route config: `file` (relative to `cwd`) or the first
 * `sluice.config.{ts,mts,cts,mjs,js,cjs,json}` in `cwd`. TypeScript and JS load through jiti,
 * JSON by reading; the default export (or `module.exports`) is the config. Each `use` that reads
 * as a package name (`@scope/name`, `sluice-provider-*`) is imported from the config file's
 * directory, taking its default export or its `provider` export as the descriptor; a bare id
 * (`zhipu`) is tried as `@sluice/provider-zhipu` and `sluice-provider-zhipu`. Packages that
 * fail are recorded in `packageFailures` and reported by `resolveConfig` together with every
 * other problem (a missing one with `npm install <package>`).
 *
 * @throws {ConfigError} when no config file is found or it cannot be read or parsed.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const file =
    options.file === undefined
      ? findConfigFile(cwd)
      : isAbsolute(options.file)
        ? options.file
        : resolve(cwd, options.file);

  if (file === undefined) {
    throw loadIssue(
      cwd,
      `no config file found (looked for ${CONFIG_FILE_NAMES.join(', ')})`,
      'create sluice.config.ts (export default defineConfig({ providers, routes })) or pass file',
    );
  }
  if (!existsSync(file)) {
    throw loadIssue(
      file,
      'does not exist',
      'check the path, or give no file (loadConfig() without `file`, or the CLI without --config) to find sluice.config.* in the working directory',
    );
  }
  if (statSync(file).isDirectory()) return loadConfig({ cwd: file });
  if (!LOADABLE_EXTENSIONS.includes(extname(file))) {
    throw loadIssue(
      file,
      `is a ${extname(file) || 'file without an extension'}, which Sluice cannot load`,
      `write the config as ${LOADABLE_EXTENSIONS.map((ext) => `sluice.config${ext}`).join(', ')}`,
    );
  }

  const config = await readConfigModule(file);
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw loadIssue(
      file,
      'exports no config object',
      'export default defineConfig({ providers: { ... }, routes: { ... } })',
    );
  }

  const { packages, packageFailures } = await loadProviderPackages(config, file);
  return {
    config: config as RouteConfig,
    providers: Object.values(packages),
    packages,
    packageFailures,
    file,
  };
}
