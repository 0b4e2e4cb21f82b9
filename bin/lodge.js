#!/usr/bin/env node
// Launcher for the `lodge` command: runs the built CLI under a Node new enough for it. On an older
// Node (`npm link` puts this file on the PATH, where `node` may be the machine's own), it re-runs
// itself under the project's pinned Node from node_modules, so a bare `lodge` works either way.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = fileURLToPath(new URL('../out/main/cli.js', import.meta.url));
if (!existsSync(cli)) {
  console.error('Lodge is not built yet. Run "npm run build" in the Lodge folder first.');
  process.exit(1);
}
const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 12)) {
  await import(pathToFileURL(cli).href);
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    console.error(
      `Lodge needs Node.js 22.12 or newer; this is ${process.versions.node}. Run "npm install" in the Lodge folder for its own Node, or use "npx lodge".`,
    );
    process.exit(1);
  }
  const child = spawn(pinned, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  // NOTE: the terminal sends Ctrl+C (SIGINT) and hang-up (SIGHUP) to the child itself; forwarding
  // them too would make one Ctrl+C two (`lodge serve` reads a second one as "stop now"). So this
  // process only outlives them, waiting for the child; SIGTERM, sent to this pid alone, is passed on.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}
