import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TENSOR_MODEL } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

describe('a hostile client exporting a model', () => {
  let core: TestCore;
  const out = tempDir('lodge-adversarial-export-');

  beforeAll(async () => {
    core = await startTestCore({ models: { 'local/tensors': TENSOR_MODEL } });
  });
  afterAll(async () => {
    await core.dispose();
    out.remove();
  });

  it('cannot write into the data directory through a link that leads there', async () => {
    const link = join(out.path, 'looks-outside');
    symlinkSync(join(core.dataDir, 'models'), link);
    const nested = join(out.path, 'deeper');
    mkdirSync(nested);
    symlinkSync(core.dataDir, join(nested, 'data'));
    const before = readdirSync(join(core.dataDir, 'models')).sort();
    for (const dir of [link, join(link, 'new/repo'), join(nested, 'data/models/x')]) {
      const response = await fetch(`${core.url}/app/models/local/tensors/export`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ dir }),
      });
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect({ status: response.status, code: body.error.code }, body.error.message).toEqual({
        status: 400,
        code: 'invalid_request',
      });
      expect(body.error.message).toMatch(/inside Lodge's data directory/);
      expect(body.error.message).not.toContain(core.dataDir);
    }
    expect(readdirSync(join(core.dataDir, 'models')).sort()).toEqual(before);
    expect(existsSync(join(core.dataDir, 'models/new'))).toBe(false);
  });

  it('still exports through a link that leads outside the data directory', async () => {
    const real = join(out.path, 'real-repo');
    mkdirSync(real);
    symlinkSync(real, join(out.path, 'linked-repo'));
    const response = await fetch(`${core.url}/app/models/local/tensors/export`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dir: join(out.path, 'linked-repo') }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const { name } = (await response.json()) as { name: string };
    expect(existsSync(join(real, name, 'config.pbtxt'))).toBe(true);
  });

  // Node's recursive mkdir loops forever under /proc: the request never answered, and each one
  // held a thread of the core's file-system pool until the core stopped.
  it('answers a folder that cannot be made (under /proc) with a 400, and keeps answering', async () => {
    for (const dir of ['/proc/self/lodge-export/repo', '/proc/1/lodge-export']) {
      const response = await fetch(`${core.url}/app/models/local/tensors/export`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ dir }),
      });
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect({ status: response.status, code: body.error.code }, body.error.message).toEqual({
        status: 400,
        code: 'invalid_request',
      });
      expect(body.error.message).toMatch(/could not write the export into that folder/);
    }
    const real = join(out.path, 'after-proc/a/b');
    const response = await fetch(`${core.url}/app/models/local/tensors/export`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dir: real }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
  });
});
