import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import providerGenerator, { normalizeOptions } from './provider.js';

const workspaceRoot = resolve(import.meta.dirname, '../../..');

describe('provider generator: files', () => {
  it('writes the package the way provider-zhipu is built', async () => {
    const tree = createTreeWithEmptyWorkspace();
    // nx's empty test workspace configures oxfmt; this workspace formats with prettier.
    tree.delete('.oxfmtrc.json');
    tree.write('.prettierrc.json', readFileSync(join(workspaceRoot, '.prettierrc.json'), 'utf8'));
    await providerGenerator(tree, { name: 'acme-cloud', maxConcurrency: 2 });

    const root = 'packages/provider-acme-cloud';
    for (const file of [
      'package.json',
      'tsconfig.json',
      'tsup.config.ts',
      'vitest.config.ts',
      'README.md',
      'src/index.ts',
      'src/acme-cloud-provider.ts',
      'src/classify-acme-cloud-error.ts',
      'src/classify-acme-cloud-error.test.ts',
      'src/testing.ts',
      'test/contract.test.ts',
      'fixtures/acme-cloud-recorded/README.md',
      'fixtures/acme-cloud-recorded/example_streaming.0.request.json',
      'fixtures/acme-cloud-recorded/example_streaming.0.response.body',
    ]) {
      expect(tree.exists(`${root}/${file}`), file).toBe(true);
    }

    const pkg = JSON.parse(tree.read(`${root}/package.json`, 'utf8') ?? '{}');
    expect(pkg.name).toBe('@sluice/provider-acme-cloud');
    expect(Object.keys(pkg.exports)).toEqual(['.', './testing', './package.json']);
    expect(Object.keys(pkg.exports['./testing'].import)).toEqual(['types', 'default']);

    const descriptor = tree.read(`${root}/src/acme-cloud-provider.ts`, 'utf8') ?? '';
    // Formatted with prettier's defaults here (the virtual tree has no config on disk).
    expect(descriptor).toMatch(/id: ["']acme-cloud["']/);
    expect(descriptor).toMatch(/envVars: \[["']ACME_CLOUD_API_KEY["']\]/);
    expect(descriptor).toContain('options.maxConcurrency ?? 2');
    expect(descriptor).toContain('export function createAcmeCloudProvider(');
    expect(descriptor).not.toMatch(/<%|%>/);
  });

  it.each([['Acme'], ['1acme'], ['acme_cloud'], ['']])('rejects the name %j', (name) => {
    expect(() => normalizeOptions({ name })).toThrow(/--name must be kebab-case/);
  });

  it('rejects a negative maxConcurrency and a non-URL baseURL', () => {
    expect(() => normalizeOptions({ name: 'acme', maxConcurrency: -1 })).toThrow(/maxConcurrency/);
    expect(() => normalizeOptions({ name: 'acme', baseURL: 'api.acme' })).toThrow(/baseURL/);
  });

  it('refuses to overwrite an existing package', async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('.prettierrc.json', '{}');
    tree.write('packages/provider-acme/package.json', '{}');
    await expect(providerGenerator(tree, { name: 'acme' })).rejects.toThrow(/already exists/);
  });
});

/**
 * A throwaway workspace: the root configs, tools and packages/core (as committed, so another
 * engineer's half-done edit cannot break this test), with node_modules linked entry by entry so
 * that `@sluice/core` and `@sluice/tools` resolve to the copies.
 */
function createTempWorkspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-generator-'));
  for (const file of [
    'package.json',
    'nx.json',
    'tsconfig.base.json',
    'eslint.config.js',
    '.prettierrc.json',
    '.prettierignore',
  ]) {
    cpSync(join(workspaceRoot, file), join(dir, file));
  }
  cpSync(join(workspaceRoot, 'tools'), join(dir, 'tools'), {
    recursive: true,
    filter: (source) => !/[\\/](node_modules|dist)$/.test(source),
  });
  copyCore(dir);

  mkdirSync(join(dir, 'node_modules/@sluice'), { recursive: true });
  for (const entry of readdirSync(join(workspaceRoot, 'node_modules'))) {
    if (entry === '@sluice') continue;
    symlinkSync(join(workspaceRoot, 'node_modules', entry), join(dir, 'node_modules', entry));
  }
  symlinkSync(join(dir, 'packages/core'), join(dir, 'node_modules/@sluice/core'));
  // npm nests a dependency under packages/core when its range differs from the root's copy.
  const coreModules = join(workspaceRoot, 'packages/core/node_modules');
  if (existsSync(coreModules)) symlinkSync(coreModules, join(dir, 'packages/core/node_modules'));
  symlinkSync(join(dir, 'tools'), join(dir, 'node_modules/@sluice/tools'));

  // nx wants a git repository to find the workspace root reliably.
  run(dir, 'git', ['init', '-q']);
  return dir;
}

function copyCore(dir: string): void {
  mkdirSync(join(dir, 'packages'), { recursive: true });
  try {
    const archive = execFileSync('git', ['archive', 'HEAD', 'packages/core'], {
      cwd: workspaceRoot,
      maxBuffer: 64 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
  } catch {
    // Not a git checkout (e.g. an unpacked tarball): copy the files as they are.
    cpSync(join(workspaceRoot, 'packages/core'), join(dir, 'packages/core'), {
      recursive: true,
      filter: (source) => !/[\\/](node_modules|dist)$/.test(source),
    });
  }
}

function run(cwd: string, command: string, args: string[]): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: 'pipe',
      env: {
        ...process.env,
        NX_DAEMON: 'false',
        NX_NO_CLOUD: 'true',
        NX_TUI: 'false',
        NO_COLOR: '1',
        FORCE_COLOR: '0',
      },
    });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    throw new Error(
      `${command} ${args.join(' ')} failed in ${cwd}:\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`,
    );
  }
}

describe('provider generator: end to end', () => {
  let dir = '';
  let pkg = '';

  beforeAll(() => {
    dir = createTempWorkspace();
    pkg = join(dir, 'packages/provider-acme');
    run(dir, 'npx', ['nx', 'g', '@sluice/tools:provider', '--name=acme', '--no-interactive']);
    // The scaffold's declarations import @sluice/core's, so core is built first.
    run(join(dir, 'packages/core'), 'npx', ['tsup']);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('`npx nx g @sluice/tools:provider --name=acme` creates packages/provider-acme', () => {
    expect(existsSync(join(pkg, 'package.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).name).toBe(
      '@sluice/provider-acme',
    );
  });

  it('the generated package typechecks and builds with tsup (ESM, CJS, declarations)', () => {
    run(pkg, 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
    run(pkg, 'npx', ['tsup']);
    for (const file of ['index.js', 'index.cjs', 'index.d.ts', 'testing.js', 'testing.d.cts']) {
      expect(existsSync(join(pkg, 'dist', file)), file).toBe(true);
    }
  });

  it('the generated package lints (eslint, publint) and is prettier-clean', () => {
    run(pkg, 'npx', ['eslint', 'src']);
    run(pkg, 'npx', ['publint']);
    run(dir, 'npx', ['prettier', '--check', 'packages/provider-acme']);
  });

  it('the generated package’s tests run and pass', () => {
    const output = run(pkg, 'npx', ['vitest', 'run', '--reporter=default']);
    expect(output).toMatch(/Tests\s+\d+ passed \(\d+\)/);
    expect(output).not.toMatch(/\d+ (failed|skipped)/);
  });
});
