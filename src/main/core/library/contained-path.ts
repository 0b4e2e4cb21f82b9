import { mkdirSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { LodgeError } from '../errors';

/** The longest relative name Lodge accepts for a file of a model (the hub's own limit is lower). */
const MAX_NAME_LENGTH = 1024;

/**
 * Why `name` cannot be a file's place inside a model folder, or null when it can. A safe name is a
 * relative, `/`-separated path of non-empty segments, none of them `.` or `..`, with no backslash,
 * colon, control character or NUL, and no percent-escape that decodes to one of those (a name
 * that is harmless here could become `..` where another layer decodes it).
 */
export function unsafeNameReason(name: string): string | null {
  if (name === '') return 'is empty';
  if (name.length > MAX_NAME_LENGTH) return 'is too long';
  if (name.startsWith('/') || isAbsolute(name)) return 'is absolute';
  if (/[\\:]/.test(name)) return 'holds a backslash or a colon';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'holds a control character';
  for (const segment of name.split('/')) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..') return 'climbs out with . or ..';
    if (segment.includes('%') && decodedIsUnsafe(segment)) return 'hides . , .. or a separator in %-escapes';
  }
  return null;
}

/** Decodes the ASCII %-escapes of `segment`, again and again (double encoding), and checks the result. */
function decodedIsUnsafe(segment: string): boolean {
  let decoded = segment;
  for (let round = 0; round < 4; round++) {
    const next = decoded.replace(/%([0-7][0-9a-f])/gi, (_escape, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    if (next === decoded) break;
    decoded = next;
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  return decoded === '.' || decoded === '..' || /[/\\:\u0000-\u001f\u007f]/.test(decoded);
}

/** True when `path` is `root` itself or lies below it (both taken as written, no symlinks read). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * `root` joined with the safe relative `name`; a name that is not safe, or that would land outside
 * `root` however it is joined, is a `forbidden` error naming only what `what` says (never a path).
 */
export function containedPath(root: string, name: string, what: string): string {
  const reason = unsafeNameReason(name);
  const path = join(root, ...name.split('/'));
  if (reason !== null || !isInside(root, path) || resolve(path) === resolve(root)) {
    throw new LodgeError(
      'forbidden',
      `${what} names a file that ${reason ?? 'lies outside its folder'}; Lodge refused it and wrote nothing.`,
    );
  }
  return path;
}

/**
 * Makes the folder `dir` below `root` (as `mkdir -p` does) and checks that, symlinks resolved, it
 * is still below `root`: a symlinked `models/<owner>` cannot carry a model elsewhere.
 */
export function makeFolderInside(root: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const real = realpathSync(dir);
  if (!isInside(realpathSync(root), real)) {
    throw new LodgeError(
      'forbidden',
      'A folder on the way into the models folder is a link that leads outside it; Lodge wrote nothing there.',
    );
  }
  return real;
}
