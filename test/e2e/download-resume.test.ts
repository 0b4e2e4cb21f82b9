import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../fixtures/fake-hub';
import { fixturePath, TINY_LM } from '../fixtures/models';
import { startServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';

type Download = { id: string; status: string; downloadedBytes: number };

describe('a download survives a killed core', () => {
  const home = tempDir();
  let hub: FakeHub;
  beforeAll(async () => {
    hub = await FakeHub.start([
      { id: 'acme/tiny-chat', dir: fixturePath(TINY_LM), pipelineTag: 'text-generation' },
    ]);
  });
  afterAll(async () => {
    await hub.close();
    home.remove();
  });

  it('resumes after kill -9 with a Range request and installs a file with the right hash', async () => {
    const env = { HF_ENDPOINT: hub.url, LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl, LODGE_HOME: home.path };
    hub.throttle(100_000);
    const first = await startServeProcess(['--port', '0'], env);
    const started = (await (
      await fetch(`${first.url}/app/downloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ repo: 'acme/tiny-chat' }),
      })
    ).json()) as Download;
    const progress = async (url: string) =>
      ((await (await fetch(`${url}/app/downloads`)).json()) as { downloads: Download[] }).downloads.find(
        (download) => download.id === started.id,
      );
    await expect
      .poll(async () => (await progress(first.url))?.downloadedBytes ?? 0, { timeout: 15_000 })
      .toBeGreaterThan(80_000);
    expect(await first.stop('SIGKILL')).toBe(null);

    hub.throttle(0);
    const second = await startServeProcess(['--port', '0'], env);
    try {
      await expect
        .poll(async () => (await progress(second.url))?.status, { timeout: 20_000 })
        .toBe('completed');
      const installed = readFileSync(join(home.path, 'models/acme/tiny-chat/onnx/model.onnx'));
      const original = readFileSync(join(fixturePath(TINY_LM), 'onnx/model.onnx'));
      expect(createHash('sha256').update(installed).digest('hex')).toBe(
        createHash('sha256').update(original).digest('hex'),
      );
      // The second core picked up where the first stopped instead of starting over.
      expect(
        hub.log.some(
          (entry) =>
            entry.url.endsWith('onnx/model.onnx') &&
            entry.range !== null &&
            /^bytes=[1-9]\d*-$/.test(entry.range),
        ),
      ).toBe(true);
      const model = (await (await fetch(`${second.url}/app/models/acme/tiny-chat`)).json()) as {
        status: string;
      };
      expect(model.status).toBe('ready');
    } finally {
      await second.stop();
    }
  });
});
