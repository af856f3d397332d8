import { createRequire } from 'node:module';
import { join } from 'node:path';
import { checkProviderDescriptor } from '../descriptor/define-provider.js';
import type { ProviderDescriptor } from '../descriptor/types.js';
import { looksLikePackageName } from './descriptor-index.js';
import { didYouMean, isRecord, listNames, optionalString } from './resolve-context.js';
import type { Context, Loose } from './resolve-context.js';

/**
 * The descriptor of provider instance `name`: its inline `descriptor`, or what `use` names (a
 * loaded package, a descriptor id or alias, a package-style name). Problems go to the issue list.
 */
export function resolveInstanceDescriptor(
  name: string,
  instance: Loose,
  context: Context,
): ProviderDescriptor | undefined {
  const path = ['providers', name];
  const use = optionalString(instance.use);
  const inline = instance.descriptor;

  if (inline !== undefined) {
    // Not an object at all: the schema has said so already.
    if (!isRecord(inline)) return undefined;
    const checked = checkProviderDescriptor(inline, [...path, 'descriptor']);
    context.issues.items.push(...checked.issues);
    const descriptor = checked.descriptor;
    if (descriptor && use !== undefined) {
      const names = [descriptor.id, ...descriptor.aliases].map((item) => item.toLowerCase());
      if (!names.includes(use.toLowerCase())) {
        context.issues.add(
          [...path, 'use'],
          `names "${use}" but the inline descriptor is "${descriptor.id}"`,
          'remove `use` (the inline descriptor is enough) or make it the descriptor id',
          use,
        );
      }
    }
    return descriptor;
  }

  if (use === undefined) {
    if (instance.use === undefined) {
      context.issues.add(
        [...path, 'use'],
        'is required: no descriptor for this provider instance',
        "name a provider package (use: '@sluice/provider-zhipu') or a descriptor id, or declare " +
          'one inline (descriptor: openAICompatible({ id, baseURL }))',
      );
    }
    return undefined;
  }

  const loaded = context.options.packages?.[use] ?? context.index.find(use);
  if (loaded) return loaded;
  const failure = context.options.packageFailures?.[use];
  if (failure) {
    const packageName = failure.packageName ?? use;
    context.issues.add(
      [...path, 'use'],
      failure.reason === 'not-installed'
        ? `provider package "${packageName}" is not installed`
        : `provider package "${packageName}" could not be loaded: ${failure.message}`,
      failure.reason === 'not-installed'
        ? `npm install ${packageName}`
        : failure.reason === 'no-descriptor'
          ? 'export the descriptor as the default export or as `provider`'
          : `reinstall it (npm install ${packageName}) and check that it imports on its own`,
      use,
    );
    return undefined;
  }

  if (looksLikePackageName(use)) {
    // resolveConfig itself imports nothing; tell "not installed" apart from "not passed in".
    if (isResolvable(use)) {
      context.issues.add(
        [...path, 'use'],
        `provider package "${use}" is installed, but its descriptor was not given to Sluice`,
        `pass it in, e.g. import zhipu from '${use}' and createRouter({ config, providers: [zhipu] }), ` +
          'or load the config with loadConfig(), which imports the packages it names',
        use,
      );
    } else {
      context.issues.add(
        [...path, 'use'],
        `provider package "${use}" is not installed`,
        `npm install ${use}`,
        use,
      );
    }
  } else {
    const known = context.index.names();
    context.issues.add(
      [...path, 'use'],
      `names no known provider; known ids and aliases: ${listNames(known)}${didYouMean(use, known)}`,
      'use a known id, a provider package name (e.g. @sluice/provider-zhipu), or declare it ' +
        'inline with descriptor: openAICompatible({ id, baseURL })',
      use,
    );
  }
  return undefined;
}

/** True when `name` resolves from the working directory, i.e. the package is installed there. */
function isResolvable(name: string): boolean {
  try {
    createRequire(join(process.cwd(), 'noop.js')).resolve(name);
    return true;
  } catch {
    return false;
  }
}
