// `lodge`: the command-line face of the same core the app runs.
import { parseArgs } from 'node:util';
import { CliError, CoreClient } from './cli/client';
import { importModel, list, remove, running } from './cli/commands';
import { exportModel } from './cli/export';
import { HELP } from './cli/help';
import { key, type KeyAction } from './cli/key';
import type { Output } from './cli/output';
import { pull } from './cli/pull';
import { listRevisions } from './cli/revisions';
import { run } from './cli/run';
import { storedApiKey } from './cli/stored-key';
import { ConfigError, resolveDataDir } from './core/config';
import { SERVER_FLAG_OPTIONS, toFlags } from './core/flags';
import { builtRendererDir, builtRunnerPath } from './core/renderer-dir';
import { serve } from './core/serve';
import { LODGE_VERSION } from './core/version';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 1 : 0;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`${LODGE_VERSION}\n`);
    return 0;
  }
  if (command === 'serve') {
    const { values } = parseArgs({ args: rest, options: SERVER_FLAG_OPTIONS, strict: true });
    return serve(
      toFlags(values),
      { rendererDir: builtRendererDir(import.meta.url), runnerPath: builtRunnerPath(import.meta.url) },
      {
        listening: (url) => console.log(`Lodge listening on ${url}`),
        failed: (message) => console.error(message),
        request: (line) => console.log(line),
      },
    );
  }
  const output: Output = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  };
  const need = (value: string | undefined, what: string): string => {
    if (value === undefined || value.startsWith('--'))
      throw new CliError(`lodge ${command} needs ${what}. Run "lodge --help".`);
    return value;
  };
  // Without LODGE_API_KEY, use the key stored in the data directory: it is this machine's to read.
  const clientFor = (dataDir: string) =>
    new CoreClient(process.env, process.env.LODGE_API_KEY || storedApiKey(dataDir));
  const [first, second] = rest;
  switch (command) {
    case 'ls':
    case 'list':
      if (rest.includes('--all')) await listRevisions(clientFor(resolveDataDir({}, process.env)), output);
      else await list(clientFor(resolveDataDir({}, process.env)), output);
      return 0;
    case 'ps':
      await running(clientFor(resolveDataDir({}, process.env)), output);
      return 0;
    case 'pull':
      await pull(
        clientFor(resolveDataDir({}, process.env)),
        output,
        need(first, 'a model, like onnx-community/Qwen2.5-0.5B-Instruct'),
        process.stderr.isTTY === true,
      );
      return 0;
    case 'rm':
      await remove(clientFor(resolveDataDir({}, process.env)), output, need(first, 'a model'));
      return 0;
    case 'import': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { 'in-place': { type: 'boolean' }, id: { type: 'string' } },
        allowPositionals: true,
      });
      await importModel(clientFor(resolveDataDir({}, process.env)), output, need(positionals[0], 'a path'), {
        inPlace: values['in-place'] === true,
        id: values.id,
      });
      return 0;
    }
    case 'export': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          triton: { type: 'string' },
          name: { type: 'string' },
          gpu: { type: 'boolean' },
          instances: { type: 'string' },
          'max-batch': { type: 'string' },
          force: { type: 'boolean' },
        },
        allowPositionals: true,
      });
      await exportModel(clientFor(resolveDataDir({}, process.env)), output, need(positionals[0], 'a model'), {
        triton: values.triton,
        name: values.name,
        gpu: values.gpu === true,
        instances: values.instances,
        maxBatch: values['max-batch'],
        force: values.force === true,
      });
      return 0;
    }
    case 'run':
      await run(clientFor(resolveDataDir({}, process.env)), output, need(first, 'a model'), second, {
        input: process.stdin,
        output: process.stdout,
        isTty: process.stdin.isTTY === true && process.stdout.isTTY === true,
      });
      return 0;
    case 'key': {
      const { values } = parseArgs({
        args: rest,
        options: {
          show: { type: 'boolean' },
          generate: { type: 'boolean' },
          remove: { type: 'boolean' },
          'data-dir': { type: 'string' },
        },
      });
      const actions = (['show', 'generate', 'remove'] as const).filter((action) => values[action] === true);
      if (actions.length > 1)
        throw new CliError(
          `lodge key takes one of --show, --generate or --remove, not ${actions.join(' and ')}.`,
        );
      const action: KeyAction = actions[0] ?? 'status';
      const dataDir = resolveDataDir({ dataDir: values['data-dir'] }, process.env);
      const stored = storedApiKey(dataDir);
      await key(clientFor(dataDir), output, action, { key: stored, dataDir });
      return 0;
    }
  }
  process.stderr.write(`Unknown command "${command}". Run "lodge --help" for the commands.\n`);
  return 2;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // parseArgs and config errors are the user's to fix: say what is wrong, without a stack.
  const known =
    error instanceof ConfigError ||
    error instanceof CliError ||
    (error instanceof TypeError && 'code' in error);
  console.error(known ? (error as Error).message : error);
  process.exitCode = error instanceof CliError ? error.exitCode : 2;
}
