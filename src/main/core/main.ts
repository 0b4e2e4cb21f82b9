// The core as its own process: forked by the desktop shell as an Electron utilityProcess, where it
// reports its address over `process.parentPort`. Imports nothing from electron.
import { ConfigError } from './config';
import { parseServerFlags } from './flags';
import { builtRendererDir, builtRunnerPath } from './renderer-dir';
import { serve } from './serve';

/** The message port Electron gives a utilityProcess; absent when run as plain Node. */
interface ParentPort {
  postMessage(message: CoreToShellMessage): void;
}

/** What the core tells the desktop shell. Mirrored in `desktop/core-supervisor.ts`. */
export type CoreToShellMessage =
  { type: 'listening'; url: string; dataDir: string } | { type: 'failed'; message: string };

const parentPort = (process as NodeJS.Process & { parentPort?: ParentPort }).parentPort;

function report(message: CoreToShellMessage): void {
  if (parentPort) parentPort.postMessage(message);
  else if (message.type === 'listening') console.log(`Lodge listening on ${message.url}`);
  else console.error(message.message);
}

try {
  const flags = parseServerFlags(process.argv.slice(2));
  const code = await serve(
    flags,
    { rendererDir: builtRendererDir(import.meta.url), runnerPath: builtRunnerPath(import.meta.url) },
    {
      listening: (url, dataDir) => report({ type: 'listening', url, dataDir }),
      failed: (message) => report({ type: 'failed', message }),
      request: (line) => console.log(line),
    },
  );
  process.exit(code);
} catch (error) {
  report({ type: 'failed', message: error instanceof ConfigError ? error.message : String(error) });
  process.exit(2);
}
