import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runInTerminal } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';

const LAUNCHER = join(import.meta.dirname, '../../bin/lodge.js');

/**
 * The `node` a shell finds once `npm link` has put `lodge` on the PATH: the first on the PATH
 * outside node_modules (the machine's own, maybe older than the project's pinned one).
 */
function shellNode(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue;
    try {
      accessSync(join(dir, 'node'), constants.X_OK);
      return join(dir, 'node');
    } catch {
      // not here; look further
    }
  }
  return process.execPath;
}

const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.remove();
});

describe('bin/lodge.js, the command npm link puts on the PATH', () => {
  it("runs the CLI under the shell's node, whatever its version", () => {
    const result = spawnSync(shellNode(), [LAUNCHER, '--version'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('stops lodge serve on one Ctrl+C with one clean shutdown, exit 0', async () => {
    const home = tempDir();
    dirs.push(home);
    const terminal = runInTerminal(['serve', '--port', '0', '--data-dir', home.path], {}, [
      shellNode(),
      LAUNCHER,
    ]);
    await terminal.waitFor(/Lodge listening on http:\/\/\S+\n/);
    terminal.type('\x03');
    expect(await terminal.exited).toBe(0);
    expect(terminal.screen()).not.toMatch(/Error|second signal/);
  });
});
