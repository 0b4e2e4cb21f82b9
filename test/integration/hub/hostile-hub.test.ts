import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../../fixtures/fake-hub';
import { fixturePath, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { downloadUntil } from '../../helpers/downloads';

/** Every file below `dir`, as paths relative to it. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

describe('a hostile hub cannot write outside the download folder', () => {
  const outside = tempDir('lodge-outside-');
  // A path from the download folder up to the root and back down into `outside`.
  const climb = `${'../'.repeat(12)}${outside.path.split(sep).filter(Boolean).join('/')}`;
  const hostileNames = [
    // Looks like external data of onnx/model.onnx, so it used to be downloaded with the variant.
    `onnx/model.onnx_data/../${climb}/escaped-data`,
    `onnx/model.onnx_data_1/../../${climb}/escaped-data-1`,
    `${outside.path}/absolute`,
    `..\\..\\${outside.path.split(sep).filter(Boolean).join('\\')}\\backslash`,
    'onnx/nul\u0000byte',
    'onnx//empty-segment',
    'onnx/./dot-segment',
    '%2e%2e/%2e%2e/percent-dots',
    'onnx%2f..%2f..%2fpercent-slash',
  ];
  let hub: FakeHub;
  let core: TestCore;

  beforeAll(async () => {
    hub = await FakeHub.start([
      ...hostileNames.map((path, index) => ({
        id: `evil/model-${index}`,
        dir: fixturePath(TINY_LM),
        extraFiles: [{ path, content: `written by a hostile hub as ${index}` }],
      })),
    ]);
    core = await startTestCore({ env: { HF_ENDPOINT: hub.url, LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl } });
  });
  afterAll(async () => {
    await core.dispose();
    await hub.close();
    outside.remove();
  });

  it.each(hostileNames.map((name, index) => [index, JSON.stringify(name)] as const))(
    'refuses the whole download of a repo listing %i: %s, writing nothing anywhere',
    async (index) => {
      const response = await fetch(`${core.url}/app/downloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ repo: `evil/model-${index}` }),
      });
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(response.status).toBe(403);
      expect(body.error.code).toBe('forbidden');
      expect(body.error.message).toMatch(/refused the whole download and wrote nothing/);
      expect(body.error.message).not.toContain(outside.path);
      // No download was queued, nothing was fetched, nothing landed outside or in models/.
      expect(hub.log.filter((entry) => entry.url.includes('/resolve/'))).toEqual([]);
      const list = (await (await fetch(`${core.url}/app/downloads`)).json()) as {
        downloads: { repo: string }[];
      };
      expect(list.downloads.filter((download) => download.repo === `evil/model-${index}`)).toEqual([]);
      expect(filesBelow(outside.path)).toEqual([]);
      expect(filesBelow(core.lodge.paths.downloads)).toEqual([]);
      expect(existsSync(join(core.lodge.paths.models, 'evil'))).toBe(false);
    },
  );
});

describe('a download cannot be installed through a link out of models/', () => {
  const outside = tempDir('lodge-outside-');
  let hub: FakeHub;
  let core: TestCore;

  beforeAll(async () => {
    hub = await FakeHub.start([{ id: 'acme/good', dir: fixturePath(TINY_LM) }]);
    core = await startTestCore({ env: { HF_ENDPOINT: hub.url, LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl } });
  });
  afterAll(async () => {
    await core.dispose();
    await hub.close();
    outside.remove();
  });

  it('installs nothing through a models/<owner> folder that links outside', async () => {
    mkdirSync(core.lodge.paths.models, { recursive: true });
    symlinkSync(outside.path, join(core.lodge.paths.models, 'linked'));
    const last = await downloadUntil(core.url, { repo: 'acme/good', id: 'linked/good' }, 'failed');
    expect(last.error).toMatch(/leads outside it; Lodge wrote nothing there/);
    expect(filesBelow(outside.path)).toEqual([]);
  });
});
