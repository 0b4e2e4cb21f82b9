import { createHash } from 'node:crypto';

/** The characters of a revision that name it in lists and messages (git's short form). */
export const SHORT_REVISION = 7;

/** The characters of a revision in the id of a record that runs it (`owner/name@0123456789ab`). */
const RECORD_REVISION = 12;

/** A revision in its short form. */
export function shortRevision(revision: string): string {
  return revision.slice(0, SHORT_REVISION);
}

/** The id a record of a non-active revision runs under: the model's id and the revision. */
export function revisionRecordId(modelId: string, revision: string): string {
  return `${modelId}@${revision.slice(0, RECORD_REVISION)}`;
}

/**
 * A requested name split at its `@`: `owner/name:q4@abc1234` is `owner/name:q4` and `abc1234`. A
 * variant written after the revision (`owner/name@abc1234:q4`) is read the same way, since a
 * revision is hex and never holds a `:`.
 */
export function splitRevision(requested: string): { name: string; revision: string | null } {
  const at = requested.indexOf('@');
  if (at < 0) return { name: requested, revision: null };
  const name = requested.slice(0, at);
  const revision = requested.slice(at + 1);
  const colon = revision.indexOf(':');
  if (colon < 0 || name.includes(':')) return { name, revision };
  return { name: `${name}${revision.slice(colon)}`, revision: revision.slice(0, colon) };
}

/**
 * The revision of a folder's content: the SHA-256 of its files' paths and checksums, sorted, so
 * the same files make the same revision wherever they were imported from. Null while a checksum
 * is still unknown.
 */
export function contentRevision(
  files: readonly { readonly path: string; readonly sha256: string | null }[],
): string | null {
  if (files.some((file) => file.sha256 === null)) return null;
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
    hash.update(`${file.path}\0${file.sha256 ?? ''}\n`);
  return hash.digest('hex');
}
