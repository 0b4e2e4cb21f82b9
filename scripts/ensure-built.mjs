// Builds with electron-vite when out/ is missing or older than any source file, so `npm run serve`
// and the e2e tests always run what is in src/.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const outputs = [
  'out/main/cli.js',
  'out/main/core.js',
  'out/main/runner.js',
  'out/main/demo-models.js',
  'out/preload/index.cjs',
  'out/renderer/index.html',
];
// test/fixtures: the demo models' generator is bundled too (out/main/demo-models.js).
const inputs = ['src', 'test/fixtures', 'package.json', 'electron.vite.config.ts', 'svelte.config.js'];

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

const missing = outputs.filter((file) => !existsSync(join(root, file)));
const builtAt =
  missing.length > 0 ? 0 : Math.min(...outputs.map((file) => statSync(join(root, file)).mtimeMs));
const changedAt = Math.max(...inputs.map((input) => newest(join(root, input))));

if (missing.length > 0 || changedAt > builtAt) {
  const require = createRequire(import.meta.url);
  const cli = join(require.resolve('electron-vite/package.json'), '..', 'bin', 'electron-vite.js');
  const result = spawnSync(process.execPath, [cli, 'build', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
