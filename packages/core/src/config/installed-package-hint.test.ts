import { describe, expect, test } from 'vitest';
import { ConfigError } from './config-error.js';
import { resolveConfig } from './resolve-config.js';

function problemAt(config: unknown): string {
  try {
    resolveConfig(config, {});
  } catch (error) {
    if (ConfigError.isInstance(error)) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('a `use` naming a provider package', () => {
  test('installed but not passed in: says how to pass the descriptor, not to install it', () => {
    const message = problemAt({
      providers: { glm: { use: '@sluice/provider-zhipu' } },
      routes: { default: { provider: 'glm', model: 'glm-4.6' } },
    });

    expect(message).toContain('providers.glm.use');
    expect(message).toContain('is installed, but its descriptor was not given');
    expect(message).toContain('createRouter({ config, providers: [zhipu] })');
    expect(message).not.toContain('npm install');
  });

  test('not installed: says which npm package to install', () => {
    const message = problemAt({
      providers: { moon: { use: '@sluice/provider-moonshot-not-real' } },
      routes: { default: { provider: 'moon', model: 'm' } },
    });

    expect(message).toContain('is not installed');
    expect(message).toContain('npm install @sluice/provider-moonshot-not-real');
  });
});
