// @ts-check
/* global console */
// The provider-package generator: `npx nx g @sluice/tools:provider --name=acme` scaffolds
// packages/provider-acme the way @sluice/provider-zhipu is built. Plain ESM JavaScript with JSDoc
// types, because nx loads local generators without a TypeScript transpiler on Node 20.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import devkit from '@nx/devkit';

const { formatFiles, generateFiles, names } = devkit;

const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * @typedef {object} ProviderGeneratorSchema
 * @property {string} name
 * @property {string} [displayName]
 * @property {string} [baseURL]
 * @property {string} [envVar]
 * @property {number} [maxConcurrency]
 * @property {string} [directory]
 */

/**
 * Turns the options into the template substitutions.
 * @param {ProviderGeneratorSchema} schema
 */
export function normalizeOptions(schema) {
  const name = String(schema.name ?? '').trim();
  if (!NAME_PATTERN.test(name)) {
    throw new Error(
      `provider generator: --name must be kebab-case starting with a letter (e.g. acme), got "${name}".`,
    );
  }
  const maxConcurrency = schema.maxConcurrency ?? 4;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 0) {
    throw new Error(
      `provider generator: --maxConcurrency must be a whole number >= 0, got ${maxConcurrency}.`,
    );
  }
  const n = names(name);
  const baseURL = schema.baseURL ?? `https://api.${name}.example/v1`;
  if (!/^https?:\/\//.test(baseURL)) {
    throw new Error(`provider generator: --baseURL must be an http(s) URL, got "${baseURL}".`);
  }
  return {
    name,
    className: n.className,
    propertyName: n.propertyName,
    constantName: n.constantName,
    displayName: schema.displayName ?? n.className.replace(/([a-z])([A-Z])/g, '$1 $2'),
    baseURL: baseURL.replace(/\/+$/, ''),
    envVar: schema.envVar ?? `${n.constantName}_API_KEY`,
    maxConcurrency,
    packageName: `@sluice/provider-${name}`,
    projectRoot: join(schema.directory ?? 'packages', `provider-${name}`),
    tmpl: '',
  };
}

/**
 * Writes packages/provider-<name>: descriptor, classifier stub and its table test, msw testing
 * handlers, a contract test over a fixture folder, package.json, tsconfig, tsup and vitest config
 * and a README.
 * @param {import('@nx/devkit').Tree} tree
 * @param {ProviderGeneratorSchema} schema
 */
export default async function providerGenerator(tree, schema) {
  const options = normalizeOptions(schema);
  if (tree.exists(join(options.projectRoot, 'package.json'))) {
    throw new Error(
      `provider generator: ${options.projectRoot} already exists; pick another --name or remove it.`,
    );
  }

  const templates = join(dirname(fileURLToPath(import.meta.url)), 'files');
  generateFiles(tree, templates, options.projectRoot, options);
  await formatFiles(tree);

  return () => {
    // Printed by nx after the files are written; generators may talk to the terminal.
    console.log(
      `\nCreated ${options.packageName} in ${options.projectRoot}. Next: npm install, then ` +
        `replace the example fixture with recorded traffic and fill the classifier's code table.`,
    );
  };
}
