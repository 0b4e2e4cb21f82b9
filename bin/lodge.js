#!/usr/bin/env node
// Launcher for the `lodge` command: checks the Node version, then runs the built CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `Lodge needs Node.js 22.12 or newer; this is ${process.versions.node}. Run it through "npm run lodge --" to use the project's own Node.`,
  );
  process.exit(1);
}
const cli = fileURLToPath(new URL('../out/main/cli.js', import.meta.url));
if (!existsSync(cli)) {
  console.error('Lodge is not built yet. Run "npm run build" in the Lodge folder first.');
  process.exit(1);
}
await import(pathToFileURL(cli).href);
