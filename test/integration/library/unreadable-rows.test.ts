import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/main/core/db/connection';
import { TINY_LM } from '../../fixtures/models';
import { startTestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

describe('a stored model row this Lodge cannot read', () => {
  it('is kept untouched, never re-added from its folder, and shown as unreadable', async () => {
    const data = tempDir();
    const file = join(data.path, 'lodge.db');
    try {
      const first = await startTestCore({ dataDir: data.path, models: { 'test/tiny-lm': TINY_LM } });
      const patched = await fetch(`${first.url}/app/models/test/tiny-lm`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ alias: 'tiny', tags: ['kept'], preset: { temperature: 0.3 } }),
      });
      expect(patched.status).toBe(200);
      await first.dispose({ keepData: true });

      // A newer Lodge wrote this row: its preset column has a version this one does not know.
      const db = openDatabase(file);
      const newer = JSON.stringify({ version: 2, value: { temperature: 0.3, future: true } });
      db.prepare('UPDATE models SET preset = ? WHERE id = ?').run(newer, 'test/tiny-lm');
      const before = db.prepare('SELECT * FROM models WHERE id = ?').get('test/tiny-lm');
      db.close();

      const core = await startTestCore({ dataDir: data.path });
      try {
        const listed = (await (await fetch(`${core.url}/app/models`)).json()) as {
          models: { id: string }[];
          unreadable: { id: string; reason: string }[];
        };
        expect(listed.models.map((model) => model.id)).not.toContain('test/tiny-lm');
        expect(listed.unreadable).toEqual([
          { id: 'test/tiny-lm', reason: 'its preset column has version 2, unknown to this Lodge' },
        ]);
        const refreshed = await fetch(`${core.url}/app/models/refresh`, { method: 'POST' });
        expect(((await refreshed.json()) as { unreadable: unknown[] }).unreadable).toHaveLength(1);

        // Asking for it names the model and why, instead of "does not exist".
        const detail = await fetch(`${core.url}/app/models/test/tiny-lm`);
        expect(detail.status).toBe(409);
        expect(await detail.json()).toMatchObject({
          error: {
            code: 'conflict',
            message: expect.stringMatching(
              /record of test\/tiny-lm cannot be read by this Lodge: its preset column has version 2/,
            ),
          },
        });
        const chat = await fetch(`${core.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'test/tiny-lm', messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(chat.status).toBe(409);
        expect(JSON.stringify(await chat.json())).toMatch(/test\/tiny-lm cannot be read by this Lodge/);
      } finally {
        await core.dispose({ keepData: true });
      }
      // The row is exactly as the newer Lodge left it: alias, tags, preset and source all kept.
      const after = openDatabase(file);
      expect(after.prepare('SELECT * FROM models WHERE id = ?').get('test/tiny-lm')).toEqual(before);
      after.close();
    } finally {
      data.remove();
    }
  });
});
