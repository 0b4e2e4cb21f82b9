import { LodgeError } from '../errors';

/** A model id a client may create: `owner/name`, letters, digits, `.`, `_`, `-`; no `..`. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\/[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Checks an id given by a client before any path is built from it (Ollama's CVE-2024-37032 lesson). */
export function validModelId(name: string, param = 'destination'): string {
  const id = (name.includes('/') ? name : `local/${name}`).replace(/:latest$/, '');
  if (
    !ID_PATTERN.test(id) ||
    id.split('/').some((part) => part === '.' || part === '..' || part.includes('..'))
  ) {
    throw new LodgeError(
      'invalid_request',
      `"${name}" is not a valid model name: use owner/name with letters, digits, ".", "_" and "-".`,
      { param },
    );
  }
  const reserved = id.split('/').find((part) => WINDOWS_RESERVED.test(part));
  if (reserved !== undefined)
    throw new LodgeError(
      'invalid_request',
      `"${name}" is not a valid model name: "${reserved}" names a device on Windows, so its folder could not exist there.`,
      { param },
    );
  return id;
}

/** Names Windows keeps for devices, whatever their case or extension. */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;
