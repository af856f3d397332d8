import { checkProviderDescriptor } from '../descriptor/define-provider.js';
import type { ProviderDescriptor } from '../descriptor/types.js';
import type { IssueList } from './resolve-context.js';

// `@sluice/provider-zhipu`, `sluice-provider-zhipu`, `@acme/sluice-provider-x` -> the id part, so
// that a descriptor passed in `providers` matches its package name without `loadConfig`.
const PACKAGE_ID = /^(?:@[^/]+\/)?(?:sluice-)?provider-(.+)$/;

const PACKAGE_NAME = Symbol.for('@sluice/core/descriptor-package');

/**
 * Records which package a descriptor was loaded from (`loadConfig` does this), so that a `use`
 * naming that package finds it among plain `providers`. Non-enumerable: it never shows in JSON.
 */
export function tagDescriptorPackage(descriptor: ProviderDescriptor, packageName: string): void {
  Object.defineProperty(descriptor, PACKAGE_NAME, { value: packageName, configurable: true });
}

/** The package a descriptor was loaded from by `loadConfig`, if any. */
export function packageNameOf(descriptor: ProviderDescriptor): string | undefined {
  const value = (descriptor as { [PACKAGE_NAME]?: unknown })[PACKAGE_NAME];
  return typeof value === 'string' ? value : undefined;
}

/** True when `use` reads as an npm package name rather than a descriptor id. */
export function looksLikePackageName(use: string): boolean {
  return use.startsWith('@') || use.includes('/') || /^sluice-provider-/.test(use);
}

// Fields defineProvider fills; a descriptor missing one was written by hand and gets parsed.
function isComplete(descriptor: ProviderDescriptor): boolean {
  const value = descriptor as Partial<ProviderDescriptor>;
  return (
    typeof value.displayName === 'string' &&
    Array.isArray(value.aliases) &&
    typeof value.defaultEndpoint === 'string' &&
    typeof value.chatPath === 'string' &&
    Array.isArray(value.auth?.envVars) &&
    Array.isArray(value.catalog) &&
    value.catalog.every((model) => typeof model.capabilities === 'object') &&
    typeof value.budgetScope === 'string' &&
    typeof value.timeouts === 'object' &&
    typeof value.retry === 'object'
  );
}

/**
 * The descriptors a config may `use`, by id, alias and package name (case-insensitive). Each
 * given descriptor is checked; a hand-written one missing defaults is replaced by its parsed form.
 */
export class DescriptorIndex {
  private readonly byName = new Map<string, ProviderDescriptor>();
  private readonly shown: string[] = [];

  /** Indexes by id, alias and package; checks each descriptor, reporting bad ones as issues. */
  constructor(providers: readonly ProviderDescriptor[], issues: IssueList) {
    providers.forEach((given, index) => {
      const checked = checkProviderDescriptor(given, ['resolveOptions', 'providers', index]);
      issues.items.push(...checked.issues);
      if (!checked.descriptor) return;
      // Keep the caller's object when it is already complete: routers compare by identity.
      const descriptor = isComplete(given) ? given : checked.descriptor;
      const packageName = packageNameOf(given);
      if (packageName) tagDescriptorPackage(descriptor, packageName);
      const names = [descriptor.id, ...descriptor.aliases, ...(packageName ? [packageName] : [])];
      for (const name of names) {
        const key = name.toLowerCase();
        if (this.byName.has(key)) continue;
        this.byName.set(key, descriptor);
        this.shown.push(name);
      }
    });
  }

  find(name: string): ProviderDescriptor | undefined {
    const direct = this.byName.get(name.toLowerCase());
    if (direct) return direct;
    const idPart = PACKAGE_ID.exec(name)?.[1];
    return idPart === undefined ? undefined : this.byName.get(idPart.toLowerCase());
  }

  names(): string[] {
    return [...this.shown];
  }
}
