import { copyFileSync, existsSync, linkSync, mkdirSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** How a file came to be in a new revision's folder. */
export type Placement = 'linked' | 'copied';

/** Makes a hard link; injectable so a file system without hard links can be stood for in tests. */
export type LinkFile = (from: string, to: string) => void;

/**
 * The errors that mean this file system (or this pair of paths) cannot hard-link: FAT and exFAT
 * volumes, some network shares, two devices, too many links to one file. Anything else (a full
 * disk, a missing file) is a real failure and is thrown.
 */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK', 'ENOSYS', 'EINVAL']);

/**
 * Puts the bytes of `from` at `to` for a new revision: a hard link where the file system has them,
 * so two revisions that share a file share its disk space, else a copy. A hard link, not a blob
 * store, because every revision stays a plain Hugging Face folder that runners, exports and the
 * user read as it is, and the file system counts the links: deleting one revision's folder frees
 * exactly the bytes no other revision still uses, with nothing to garbage-collect.
 */
export function placeShared(from: string, to: string, link: LinkFile = linkSync): Placement {
  mkdirSync(dirname(to), { recursive: true });
  try {
    link(from, to);
    return 'linked';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined || !NO_LINKS.has(code)) throw error;
    copyFileSync(from, to);
    return 'copied';
  }
}

/** {@link placeShared}, copying without blocking the event loop when the link is refused. */
export async function placeSharedAsync(
  from: string,
  to: string,
  link: LinkFile = linkSync,
): Promise<Placement> {
  mkdirSync(dirname(to), { recursive: true });
  try {
    link(from, to);
    return 'linked';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined || !NO_LINKS.has(code)) throw error;
    await copyFile(from, to);
    return 'copied';
  }
}

/** The bytes `paths` take on disk, counting a file that several of them link to once. */
export function uniqueBytes(paths: Iterable<string>): number {
  const seen = new Set<string>();
  let bytes = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const stats = statSync(path, { bigint: true });
    const key = `${stats.dev}:${stats.ino}`;
    if (seen.has(key)) continue;
    seen.add(key);
    bytes += Number(stats.size);
  }
  return bytes;
}
