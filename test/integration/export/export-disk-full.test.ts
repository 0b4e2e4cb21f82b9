import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_LM, type LanguageModelSpec } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';

// A real small file system to fill: a tmpfs of its own (root only, as here and in CI). It is
// another file system than the library's, so the export copies instead of hard-linking.
const mountPoint = mkdtempSync(join(tmpdir(), 'lodge-export-full-'));
const mountError = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    return null;
  } catch (error) {
    rmSync(mountPoint, { recursive: true, force: true });
    return `cannot mount a tmpfs to fill (needs root): ${(error as Error).message.split('\n')[0]}`;
  }
})();

/** Writes until the file system has no space left. */
function fillDisk(dir: string): void {
  const fd = openSync(join(dir, 'filler.bin'), 'w');
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

const EXTERNAL_LM: LanguageModelSpec = { ...TINY_LM, externalData: true };

describe.skipIf(mountError !== null)(
  `an export onto a full disk${mountError ? ` (skipped: ${mountError})` : ''}`,
  () => {
    let core: TestCore;
    beforeAll(async () => {
      core = await startTestCore({ models: { 'test/lm': EXTERNAL_LM } });
      fillDisk(mountPoint);
    });
    afterAll(async () => {
      await core?.dispose();
      if (mountError === null) {
        execFileSync('umount', [mountPoint]);
        rmSync(mountPoint, { recursive: true, force: true });
      }
    });

    it('answers 507 insufficient_storage and leaves no half a model in the repository', async () => {
      const response = await fetch(`${core.url}/app/models/test/lm/export`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ dir: join(mountPoint, 'repo') }),
      });
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect({ status: response.status, code: body.error.code }).toEqual({
        status: 507,
        code: 'insufficient_storage',
      });
      expect(body.error.message).not.toContain(mountPoint);
      expect(readdirSync(join(mountPoint, 'repo'))).toEqual([]);
    });
  },
);
