#!/usr/bin/env node
// Fails when any test in the vitest JSON reports was skipped, todo or pending, or when no report
// exists at all. The only allowed skip is a live test against a real provider API, which needs a
// key that CI does not have; such a test carries `[live]` in its name and says so when skipped.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', '.vitest-reports');
let files = [];
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.json'));
} catch {
  // handled below
}
if (files.length === 0) {
  console.error(`check-skips: no vitest reports in ${dir}; did the tests run?`);
  process.exit(1);
}

let passed = 0;
let failed = 0;
const skipped = [];
const allowed = [];
for (const file of files) {
  const report = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  for (const suite of report.testResults ?? []) {
    for (const test of suite.assertionResults ?? []) {
      if (test.status === 'passed') passed += 1;
      else if (test.status === 'failed') failed += 1;
      else {
        const name = `${file.replace(/\.json$/, '')}: ${test.fullName}`;
        if (/\[live\]/.test(test.fullName)) allowed.push(name);
        else skipped.push(`${name} (${test.status})`);
      }
    }
  }
}

for (const name of allowed) console.log(`check-skips: allowed live-API skip: ${name}`);
for (const name of skipped) console.error(`check-skips: SKIPPED: ${name}`);
console.log(`${passed} passed, ${failed} failed, ${skipped.length + allowed.length} skipped`);
if (skipped.length > 0 || failed > 0 || passed === 0) process.exit(1);
