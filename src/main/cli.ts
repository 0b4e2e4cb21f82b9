// `lodge`: the command-line face of the same core the app runs.
import { parseArgs } from 'node:util';
import { CliError, CoreClient } from './cli/client';
import { importModel, list, pull, remove, run, running, type Output } from './cli/commands';
import { ConfigError } from './core/config';
import { SERVER_FLAG_OPTIONS, toFlags } from './core/flags';
import { builtRendererDir, builtRunnerPath } from './core/renderer-dir';
import { serve } from './core/serve';
import { LODGE_VERSION } from './core/version';

const HELP = `Lodge ${LODGE_VERSION}: host AI models on this machine.

Usage:
  lodge serve [options]              Run the headless core: the HTTP API and the web UI
  lodge ls                           List the models in the library
  lodge ps                           List the loaded models
  lodge pull OWNER/REPO[:VARIANT]    Download a model from the Hugging Face hub
  lodge import PATH [--in-place] [--id OWNER/NAME]
                                     Add a model folder or .onnx file from this machine
  lodge rm MODEL                     Delete a model
  lodge run MODEL [PROMPT]           Chat with a model (no prompt: interactive; /bye quits)
  lodge --version                    Print the version
  lodge --help                       Print this help

The commands other than serve talk to a running Lodge (LODGE_HOST, LODGE_PORT, LODGE_API_KEY).

Options for serve:
  --host HOST          Address to bind (default 127.0.0.1; others need --api-key)   env LODGE_HOST
  --port PORT          Port to listen on (default 11435; 0 picks a free one)         env LODGE_PORT
  --data-dir DIR       Where models, the database and logs live (default ~/.lodge)   env LODGE_HOME
  --api-key KEY        Require "Authorization: Bearer KEY" on every API call         env LODGE_API_KEY
  --origins LIST       Extra browser origins allowed to call the API, comma-separated env LODGE_ORIGINS
  --log-level LEVEL    trace, debug, info, warn, error or fatal (default info)       env LODGE_LOG_LEVEL
`;

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
  const client = new CoreClient(process.env);
  const output: Output = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  };
  const [first, second] = rest;
  const need = (value: string | undefined, what: string): string => {
    if (value === undefined || value.startsWith('--'))
      throw new CliError(`lodge ${command} needs ${what}. Run "lodge --help".`);
    return value;
  };
  switch (command) {
    case 'ls':
    case 'list':
      await list(client, output);
      return 0;
    case 'ps':
      await running(client, output);
      return 0;
    case 'pull':
      await pull(
        client,
        output,
        need(first, 'a model, like onnx-community/Qwen2.5-0.5B-Instruct'),
        process.stderr.isTTY === true,
      );
      return 0;
    case 'rm':
      await remove(client, output, need(first, 'a model'));
      return 0;
    case 'import': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { 'in-place': { type: 'boolean' }, id: { type: 'string' } },
        allowPositionals: true,
      });
      await importModel(client, output, need(positionals[0], 'a path'), {
        inPlace: values['in-place'] === true,
        id: values.id,
      });
      return 0;
    }
    case 'run':
      await run(client, output, need(first, 'a model'), second, process.stdin, process.stdin.isTTY === true);
      return 0;
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
  process.exitCode = error instanceof CliError ? 1 : 2;
}
