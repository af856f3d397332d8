import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { chatCommand } from './commands/chat-command.js';
import { checkCommand } from './commands/check-command.js';
import { dashboardCommand } from './commands/dashboard-command.js';
import { demoCommand } from './commands/demo-command.js';
import { fleetCommand } from './commands/fleet-command.js';
import { simulateCommand } from './commands/simulate-command.js';
import { configFileOf, configLine } from './config-file.js';
import { EXIT_BAD_INPUT, EXIT_OK, exitCodeOf } from './exit-code.js';
import { createTerminal, type Terminal } from './terminal.js';
import { parseCount } from './usage-error.js';
import { VERSION } from './version.js';

/** Where `runCli` reads and writes; the real process by default, streams of their own in tests. */
export interface CliIO {
  stdout: Terminal['stdout'];
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  /** Aborts every stream (Ctrl-C). */
  signal: AbortSignal;
}

const count = (flag: string, min: number, max: number) => (raw: string) => {
  try {
    return parseCount(flag, raw, { min, max });
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

/**
 * Runs the `sluice` command with `argv` (without node and script) and resolves to the exit code:
 * 0 success, 1 the job failed (a provider error, a timeout, the network, a fleet with failures),
 * 2 bad input (a usage or config error, with the fix), 3 `check`: not known to work, 130 when
 * `io.signal` aborted the job (the bin turns that into 143 for a SIGTERM).
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  let exitCode = 0;
  const term = (json: boolean) =>
    createTerminal({ stdout: io.stdout, stderr: io.stderr, env: io.env, json });
  const run = (job: () => Promise<number>) => async () => {
    exitCode = await job();
  };

  const program = new Command('sluice')
    .description('One bounded in-flight budget per provider, shared by a whole agent fleet.')
    .version(VERSION, '-V, --version', 'print the version of sluice')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
    });

  program
    .command('demo')
    .description(
      'the GLM fan-out on the embedded simulator: without a client cap, then with the shared budget',
    )
    .addOption(
      new Option('--children <n>', 'sub-agents besides the parent')
        .default(3)
        .argParser(count('--children', 0, 64)),
    )
    .addOption(
      new Option('--tasks <m>', 'turns per session').default(6).argParser(count('--tasks', 1, 100)),
    )
    .option('--json', 'print the reports as JSON', false)
    .action((flags) => run(() => demoCommand(flags, term(flags.json), io.env, io.signal))());

  program
    .command('fleet')
    .description('a parent and N sub-agents streaming at once, sharing one budget per provider')
    .addOption(
      new Option('--children <n>', 'sub-agents besides the parent')
        .default(3)
        .argParser(count('--children', 0, 64)),
    )
    .addOption(
      new Option('--tasks <m>', 'turns per session').default(4).argParser(count('--tasks', 1, 100)),
    )
    .option('--simulate', 'run on the embedded GLM simulator', false)
    .option('--config <file>', 'route config file (sluice.config.ts, .mjs or .json)')
    .option('--route <name>', 'route to use (default: the config default route)')
    .option('--delegate', 'the parent hands work to extra sub-agents through a tool call', false)
    .option('--dashboard', 'open the live dashboard for the run (prints its URL)', false)
    .option('--json', 'print the summary as JSON', false)
    .action((flags) => run(() => fleetCommand(flags, term(flags.json), io.env, io.signal))());

  program
    .command('chat')
    .description('one streamed answer: reasoning dimmed, tool calls listed')
    .argument('<prompt>', 'what to ask')
    .option('--route <name>', 'route to use (default: the config default route)')
    .option('--simulate', 'answer from the embedded GLM simulator', false)
    .option('--config <file>', 'route config file')
    .option('--json', 'print the collected result as JSON', false)
    .action((prompt: string, flags) =>
      run(() => chatCommand(prompt, flags, term(flags.json), io.env, io.signal))(),
    );

  program
    .command('simulate')
    .description('run the GLM simulator on its own and print its URL')
    .addOption(
      new Option('--ceiling <c>', 'streams served at once')
        .default(3)
        .argParser(count('--ceiling', 1, 1000)),
    )
    .addOption(
      new Option('--mode <mode>', 'past the ceiling')
        .choices(['stall', 'reject', 'slow'])
        .default('stall'),
    )
    .addOption(
      new Option('--port <port>', 'port (0: a free one)')
        .default(0)
        .argParser(count('--port', 0, 65535)),
    )
    .addOption(
      new Option('--stall-ms <ms>', 'how long a stalled request gets no headers')
        .default(45_000)
        .argParser(count('--stall-ms', 0, 3_600_000)),
    )
    .option('--json', 'print the description as JSON', false)
    .action((flags) => run(() => simulateCommand(flags, term(flags.json), io.signal))());

  program
    .command('check')
    .description(
      'which routes will work right now: a table (or --json), exit code from the default route',
    )
    .option('--config <file>', 'route config file (default: the GLM Coding Plan routes)')
    .option('--probe', 'send one minimal request per route, through the budget', false)
    .option('--simulate', 'check the routes of the embedded simulator', false)
    .option('--json', 'print the readiness snapshot as JSON (published schema)', false)
    .action((flags) => run(() => checkCommand(flags, term(flags.json), io.env, io.signal))());

  program
    .command('dashboard')
    .description('the live readiness dashboard on 127.0.0.1, pushed over SSE')
    .addOption(
      new Option('--port <port>', 'port (0: a free one)')
        .default(7357)
        .argParser(count('--port', 0, 65535)),
    )
    .option('--host <host>', 'interface to bind; anything but loopback needs --token', '127.0.0.1')
    .option('--token <token>', 'access token (required off loopback)')
    .option('--simulate', 'run a simulated fan-out behind the page', false)
    .option('--config <file>', 'route config file')
    .addOption(
      new Option('--children <n>', 'sub-agents of the simulated fan-out')
        .default(3)
        .argParser(count('--children', 0, 64)),
    )
    .option('--json', 'print the URL as JSON', false)
    .action((flags) => run(() => dashboardCommand(flags, term(flags.json), io.env, io.signal))());

  if (argv.length === 0) {
    io.stderr.write(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIO): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (and help, for --help / --version).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
      return EXIT_OK;
    if (error.code === 'commander.help') return EXIT_OK;
    return EXIT_BAD_INPUT;
  }
  // A usage error, a config problem or a request refused before sending is bad input (2): the fix
  // is in the user's flags or file. Anything else failed while running (1).
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`sluice: ${message}\n`);
  // Which config file the command read, as `check` names it: the file to fix.
  const file = configFileOf(error);
  if (file !== undefined) io.stderr.write(`${configLine(file)}\n`);
  return exitCodeOf(error);
}
