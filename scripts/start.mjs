// `npm start`: the desktop app from a production build. Where Electron cannot run (its binary could
// not be fetched, or there is no display), it says why in one sentence and serves the web UI
// headless instead, with the same core.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);

const build = spawnSync(process.execPath, [join(root, 'scripts/ensure-built.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

function electronBinary() {
  const electronDir = join(root, 'node_modules/electron');
  const pathFile = join(electronDir, 'path.txt');
  if (!existsSync(pathFile)) {
    // The binary is fetched on first use, never at install time; give the download two minutes.
    const fetch = spawnSync(process.execPath, [join(electronDir, 'install.js')], {
      stdio: 'ignore',
      timeout: 120_000,
    });
    if (fetch.status !== 0 || !existsSync(pathFile)) {
      return { reason: 'the Electron binary is not installed and could not be downloaded' };
    }
  }
  const binary = join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  if (!existsSync(binary)) return { reason: `the Electron binary is missing at ${binary}` };
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { reason: 'there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)' };
  }
  return { binary };
}

const electron = electronBinary();
const child =
  'binary' in electron
    ? spawn(electron.binary, [root, ...args], { stdio: 'inherit' })
    : (console.log(
        `Lodge cannot open its window because ${electron.reason}; serving the web UI headless instead.`,
      ),
      spawn(process.execPath, [join(root, 'out/main/cli.js'), 'serve', ...args], { stdio: 'inherit' }));

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
