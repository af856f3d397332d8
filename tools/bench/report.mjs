#!/usr/bin/env node
// Collects bench-results/*.json into bench-results/README.md, one table per benchmark, so the
// figures of the last `npm run bench` can be read (and diffed) in one place.
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', '..', 'bench-results');
if (!existsSync(dir)) process.exit(0);
const lines = [
  '# Benchmark results',
  '',
  `Machine: Node ${process.version}, ${process.platform}/${process.arch}.`,
  '',
];
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()) {
  const data = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  lines.push(`## ${data.title ?? file}`, '');
  if (data.date) lines.push(`Run: ${data.date}`, '');
  const rows = data.rows ?? [];
  if (rows.length > 0) {
    const cols = Object.keys(rows[0]);
    lines.push(`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`);
    for (const row of rows) lines.push(`| ${cols.map((c) => String(row[c])).join(' | ')} |`);
    lines.push('');
  }
  for (const note of data.notes ?? []) lines.push(`- ${note}`);
  lines.push('');
}
writeFileSync(join(dir, 'README.md'), lines.join('\n'));
console.log(`bench: wrote ${join(dir, 'README.md')}`);
