// Writes readiness.schema.json from the zod schema in src/readiness-schema.ts, formatted with the
// workspace's prettier settings so `prettier --check` passes. Run: npm run schema -w @sluice/readiness
// A test (readiness-json.test.ts) fails when the file and the schema drift apart.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { readinessJSONSchema } from '../src/readiness-schema.js';

const target = fileURLToPath(new URL('../readiness.schema.json', import.meta.url));
const options = (await resolveConfig(target)) ?? {};
const text = await format(JSON.stringify(readinessJSONSchema()), { ...options, parser: 'json' });
writeFileSync(target, text);
process.stdout.write(`wrote ${target}\n`);
