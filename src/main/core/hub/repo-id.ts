import { LodgeError } from '../errors';

/** One half of a hub repo id: the hub's own rule (letters, digits, `-`, `_`, `.`; at most 96). */
const PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;

/** A revision: a branch, tag or commit; `refs/pr/1` style names keep their slashes. */
const REVISION = /^[A-Za-z0-9_](?:[A-Za-z0-9._/-]{0,198}[A-Za-z0-9_])?$/;

/**
 * `repo` when it is a hub repo id, `owner/name` by the hub's rules (no `..` or `--`, no leading or
 * trailing `.` or `-`), checked before any URL is built from it so that a crafted id
 * (`../../admin/secret`) cannot reach another path of the hub with the user's token.
 */
export function validRepoId(repo: string, param = 'repo'): string {
  const parts = repo.split('/');
  if (
    parts.length !== 2 ||
    !parts.every((part) => PART.test(part) && !part.includes('..') && !part.includes('--'))
  ) {
    throw new LodgeError(
      'invalid_request',
      `"${repo.slice(0, 200)}" is not a hub repo id: use owner/name with letters, digits, "-", "_" and ".".`,
      { param },
    );
  }
  return repo;
}

/** `revision` when it is a branch, tag or commit name that cannot climb out of its URL path. */
export function validRevision(revision: string, param = 'revision'): string {
  if (!REVISION.test(revision) || revision.split('/').some((part) => part === '' || part.startsWith('.'))) {
    throw new LodgeError(
      'invalid_request',
      `"${revision.slice(0, 100)}" is not a revision: use a branch, tag or commit name.`,
      { param },
    );
  }
  return revision;
}
