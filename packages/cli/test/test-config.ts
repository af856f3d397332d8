import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A loopback port nobody listens on: bound once by us, then closed. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A sluice.config.json in a fresh directory (named after `prefix`, its path resolved) with one
 * zhipu instance `glm` at `endpoint` with `apiKey`, its fields merged with `instance`, and a
 * route `default` on glm-4.6.
 */
export function zhipuConfigFile(
  prefix: string,
  endpoint: string,
  apiKey: string,
  instance: Record<string, unknown> = {},
): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), `sluice-${prefix}-`)));
  const file = join(dir, 'sluice.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      providers: { glm: { use: 'zhipu', endpoint, apiKey, ...instance } },
      routes: { default: { provider: 'glm', model: 'glm-4.6' } },
    }),
  );
  return file;
}
