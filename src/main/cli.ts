// `lodge`: the command-line face of the same core the app runs.
import { parseArgs } from 'node:util';
import { ConfigError } from './core/config';
import { SERVER_FLAG_OPTIONS, toFlags } from './core/flags';
import { builtRendererDir, builtRunnerPath } from './core/renderer-dir';
import { serve } from './core/serve';
import { LODGE_VERSION } from './core/version';

const HELP = `Lodge ${LODGE_VERSION}: host AI models on this machine.

Usage:
  lodge serve [options]     Run the headless core: the HTTP API and the web UI
  lodge --version           Print the version
  lodge --help              Print this help

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
      },
    );
  }
  process.stderr.write(`Unknown command "${command}". Run "lodge --help" for the commands.\n`);
  return 2;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // parseArgs and config errors are the user's to fix: say what is wrong, without a stack.
  const known = error instanceof ConfigError || (error instanceof TypeError && 'code' in error);
  console.error(known ? (error as Error).message : error);
  process.exitCode = 2;
}
