import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubClient } from '../../../src/main/core/hub/hub-client';
import { FakeHub } from '../../fixtures/fake-hub';
import { fixturePath, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { downloadUntil } from '../../helpers/downloads';

describe('a hub cannot redirect Lodge to an internal service', () => {
  let hub: FakeHub;
  let internal: Server;
  let port = 0;
  let hits = 0;
  let core: TestCore;

  beforeAll(async () => {
    hub = await FakeHub.start([{ id: 'acme/tiny-chat', dir: fixturePath(TINY_LM) }]);
    // An internal service with a secret, on loopback only (IPv4-mapped addresses reach it too).
    internal = createServer((_request, response) => {
      hits++;
      response.end('internal secret');
    });
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
    port = (internal.address() as AddressInfo).port;
    core = await startTestCore({ env: { HF_ENDPOINT: hub.url, LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl } });
  });
  afterAll(async () => {
    await core.dispose();
    await hub.close();
    internal.closeAllConnections();
    await new Promise<void>((resolve) => internal.close(() => resolve()));
  });

  const targets = () => [
    `http://[::ffff:127.0.0.1]:${port}/secret`,
    `http://[::ffff:7f00:1]:${port}/secret`,
    `http://[0:0:0:0:0:ffff:127.0.0.1]:${port}/secret`,
    `http://[::127.0.0.1]:${port}/secret`,
    `http://[::1]:${port}/secret`,
    `http://0.0.0.0:${port}/secret`,
    // A host name is judged by what it resolves to.
    `http://localhost:${port}/secret`,
    'http://169.254.169.254/latest/meta-data/',
    'file:///etc/passwd',
    // The hub's own host is trusted on its own port only: any other port is another service.
    `http://127.0.0.1:${port}/secret`,
    `http://0x7f.1:${port}/secret`,
    `http://2130706433:${port}/secret`,
    `http://127.0.0.1.:${port}/secret`,
  ];

  it.each([...Array(13).keys()])(
    'refuses redirect %i before connecting, with the token kept',
    async (index) => {
      const target = targets()[index] as string;
      hub.redirect('onnx/model.onnx', target);
      const client = new HubClient({ endpoint: () => hub.url, token: () => 'hf_secret' });
      const { sha } = await client.revision('acme/tiny-chat', 'main');
      const attempt = client.download('acme/tiny-chat', sha, 'onnx/model.onnx', 0);
      await expect(attempt).rejects.toMatchObject({
        name: 'LodgeError',
        code: 'forbidden',
        message: expect.stringMatching(/refuses to follow|not HTTP/),
      });
      expect(hits).toBe(0);
    },
  );

  it('refuses a redirect to a Location that is no URL as the hub’s fault, not a bare TypeError', async () => {
    hub.redirect('onnx/model.onnx', 'http://[');
    const client = new HubClient({ endpoint: () => hub.url, token: () => null });
    const { sha } = await client.revision('acme/tiny-chat', 'main');
    await expect(client.download('acme/tiny-chat', sha, 'onnx/model.onnx', 0)).rejects.toMatchObject({
      name: 'LodgeError',
      code: 'unavailable',
      message: expect.stringMatching(/redirected onnx\/model.onnx to a Location that is not a URL/),
    });
  });

  it('fails a download through the API with that reason, and nothing internal is read', async () => {
    hub.redirect('onnx/model.onnx', `http://[::ffff:127.0.0.1]:${port}/secret`);
    const last = await downloadUntil(core.url, { repo: 'acme/tiny-chat' }, 'failed');
    expect(last.error).toMatch(/private or internal address; Lodge refuses to follow/);
    expect(last.error).not.toContain('internal secret');
    expect(hits).toBe(0);
  });
});
