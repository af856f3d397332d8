import { withConfigFile } from '../config-file.js';
import { setupRouter } from '../router-setup.js';
import { plural } from '../render/plural.js';
import type { Terminal } from '../terminal.js';
import { UsageError } from '../usage-error.js';

/** Flags of `sluice chat`. */
export interface ChatFlags {
  route?: string | undefined;
  simulate: boolean;
  config?: string | undefined;
  json: boolean;
}

/**
 * `sluice chat "prompt"`: one streamed answer. Reasoning is shown dimmed as it arrives, the answer
 * plain, tool calls listed at the end. With `--json` it prints the collected result instead.
 */
export async function chatCommand(
  prompt: string,
  flags: ChatFlags,
  term: Terminal,
  env: Record<string, string | undefined>,
  signal: AbortSignal,
): Promise<number> {
  if (prompt.trim() === '')
    throw new UsageError('the prompt is empty; say what to ask, e.g. sluice chat "hello".');
  const setup = await setupRouter({
    simulate: flags.simulate,
    configFile: flags.config,
    env,
    command: 'chat',
    simulatorOptions: { source: 'recorded' },
  });
  try {
    const stream = setup.router.chat(
      { messages: [{ role: 'user', content: prompt }] },
      { ...(flags.route ? { route: flags.route } : {}), signal },
    );
    if (term.json) {
      term.out(JSON.stringify(await stream.result(), null, 2));
      return 0;
    }

    const c = term.colors;
    let inReasoning = false;
    for await (const event of stream) {
      if (event.type === 'reasoning-delta') {
        inReasoning = true;
        term.stdout.write(c.dim(event.text));
      } else if (event.type === 'text-delta') {
        if (inReasoning) term.stdout.write(term.live ? '\n\n' : '\n\n--- answer ---\n');
        inReasoning = false;
        term.stdout.write(event.text);
      } else if (event.type === 'tool-call') {
        term.out(`\n${c.cyan('tool call')} ${event.name}(${event.arguments})`);
      } else if (event.type === 'finish') {
        const usage = event.usage ? `, ${plural(event.usage.totalTokens, 'token')}` : '';
        term.out(`\n${c.dim(`[${event.rawReason ?? event.reason}${usage}]`)}`);
      }
    }
    return 0;
  } catch (error) {
    // Ctrl-C: the stream ended with an abort; exit as interrupted commands do.
    if (signal.aborted) {
      term.err(`sluice: interrupted; the stream was cancelled and its lease freed.`);
      return 130;
    }
    throw withConfigFile(error, setup.configFile);
  } finally {
    await setup.close();
  }
}
