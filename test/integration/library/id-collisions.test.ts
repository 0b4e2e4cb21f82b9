import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TINY_LM } from '../../fixtures/models';

// On macOS and Windows, models/test/tiny-lm and models/test/TINY-LM are one folder: a copy under the
// second name would share the first one's files, and deleting it would delete them.
describe('model ids that would share a folder on another system', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM } });
  });
  afterAll(async () => {
    await core.dispose();
  });

  const post = async (path: string, body: object) => {
    const response = await fetch(`${core.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
  };

  it('refuses a copy to the same id in other letters', async () => {
    const copied = await post('/api/copy', { source: 'test/tiny-lm', destination: 'test/TINY-LM' });
    expect(copied.status).toBe(409);
    expect(copied.body).toEqual({ error: expect.stringMatching(/already exists/) });
    expect((await post('/api/copy', { source: 'test/tiny-lm', destination: 'test/tiny-copy' })).status).toBe(
      200,
    );
  });

  it('refuses names Windows keeps for devices', async () => {
    for (const destination of ['test/con', 'nul/model', 'test/COM1.onnx']) {
      const copied = await post('/api/copy', { source: 'test/tiny-lm', destination });
      expect(copied.status, destination).toBe(400);
      expect(copied.body).toEqual({ error: expect.stringMatching(/names a device on Windows/) });
    }
  });
});
