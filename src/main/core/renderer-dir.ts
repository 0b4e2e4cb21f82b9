import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built web UI beside a built entry (`out/main/*.js` → `out/renderer`). */
export function builtRendererDir(entryUrl: string): string {
  return resolve(dirname(fileURLToPath(entryUrl)), '../renderer');
}

/** The built runner entry beside a built entry (`out/main/*.js` → `out/main/runner.js`). */
export function builtRunnerPath(entryUrl: string): string {
  return resolve(dirname(fileURLToPath(entryUrl)), 'runner.js');
}
