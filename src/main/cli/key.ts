import { randomBytes } from 'node:crypto';
import { CliError, type CoreClient } from './client';
import type { Output } from './output';

/** What `lodge key` is asked to do. */
export type KeyAction = 'status' | 'show' | 'generate' | 'remove';

/** A new key in the Server view's format: `lodge-` and 48 hex digits (192 random bits). */
export function newApiKey(): string {
  return `lodge-${randomBytes(24).toString('hex')}`;
}

/** A key with all but its ends hidden, so a screen or a log shows which key, not the key. */
function masked(key: string): string {
  return key.length <= 14 ? '•'.repeat(key.length) : `${key.slice(0, 8)}…${key.slice(-4)}`;
}

/**
 * `lodge key`: says whether an API key is set, the key itself hidden; `--show` prints the key alone
 * on stdout (for `export LODGE_API_KEY=$(lodge key --show)`); `--generate` and `--remove` change
 * it on the running server, which applies the change at once. The secret is printed only when
 * asked for (`--show`) or just made (`--generate`), never as a side effect.
 */
export async function key(
  client: CoreClient,
  output: Output,
  action: KeyAction,
  stored: { key: string | null; dataDir: string },
): Promise<void> {
  if (action === 'status' || action === 'show') {
    if (stored.key === null) {
      // NOTE: a key given to the server with --api-key or LODGE_API_KEY is not stored; say what is known.
      const none = `No API key is stored in ${stored.dataDir}; a server started with --api-key or LODGE_API_KEY uses that one. "lodge key --generate" makes one.\n`;
      if (action === 'show') throw new CliError(none.trimEnd());
      output.out(none);
      return;
    }
    if (action === 'show') output.out(`${stored.key}\n`);
    else
      output.out(
        `An API key is set (stored in ${stored.dataDir}): ${masked(stored.key)}\n"lodge key --show" prints it; "lodge key --remove" removes it.\n`,
      );
    return;
  }
  const { sources } = await client.call('settings');
  if (sources.apiKey === 'env' || sources.apiKey === 'flag') {
    throw new CliError(
      `The running Lodge takes its API key from ${sources.apiKey === 'env' ? 'LODGE_API_KEY' : '--api-key'}, which a stored key cannot override. Change it there and restart Lodge.`,
    );
  }
  if (action === 'generate') {
    const apiKey = newApiKey();
    await client.call('updateSettings', { body: { apiKey } });
    output.err('A new API key is in force: clients must send "Authorization: Bearer KEY" from now on.\n');
    output.out(`${apiKey}\n`);
    return;
  }
  await client.call('updateSettings', { body: { apiKey: null } });
  output.out('The API key was removed: clients on this machine need none.\n');
}
