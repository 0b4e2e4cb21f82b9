import { randomBytes } from 'node:crypto';

/**
 * An id in the Responses API's style: a prefix (`resp`, `msg`, `fc`, `call`, `fco`), an underscore
 * and random hex, e.g. `resp_68af…`. Clients treat them as opaque; Codex only checks the prefix.
 */
export function responsesId(prefix: 'resp' | 'msg' | 'fc' | 'call' | 'fco'): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}
