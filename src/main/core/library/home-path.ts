import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * `path` with a leading `~` or `~/…` (also `~\…` on Windows) turned into the home directory, as a
 * shell would. Only a leading `~` is expanded: `~user/…` and a `~` anywhere else are left as given.
 */
export function expandHome(path: string, home: () => string = homedir): string {
  if (path === '~') return home();
  const separated = path.startsWith('~/') || (process.platform === 'win32' && path.startsWith('~\\'));
  return separated ? join(home(), path.slice(2)) : path;
}
