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
  // Without a display there is no window to open: say so before fetching a binary that cannot show one.
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { reason: 'there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)' };
  }
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

// Ctrl+C in a terminal reaches every process of the foreground group, the child included (it shares
// this one's group and terminal): forwarding it too would make one Ctrl+C two. Forward only what
// the child cannot have got itself: SIGTERM, and SIGINT when no terminal is attached. The core
// also treats the same signal arriving twice at once as one.
const sharesTerminal = process.stdin.isTTY === true;
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.on('SIGINT', () => {
  if (!sharesTerminal) child.kill('SIGINT');
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
