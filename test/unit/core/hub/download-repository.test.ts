import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../../src/main/core/db/connection';
import { DownloadRepository, type DownloadRow } from '../../../../src/main/core/db/download-repository';
import { migrate } from '../../../../src/main/core/db/migrate';
import { migrations } from '../../../../src/main/core/db/migrations';
import { tempDir } from '../../../helpers/temp-dir';

describe('the downloads table: the file list is versioned and checked on read', () => {
  const dir = tempDir();
  const db = openDatabase(join(dir.path, 'lodge.db'));
  migrate(db, migrations);
  const repository = new DownloadRepository(db);
  afterAll(() => {
    db.close();
    dir.remove();
  });
  const row = (id: string): DownloadRow => ({
    id,
    repo: 'acme/tiny',
    revision: 'a'.repeat(40),
    variant: 'q4',
    modelId: 'acme/tiny',
    status: 'queued',
    files: [{ path: 'config.json', size: 10, sha256: null, gitOid: 'b'.repeat(40) }],
    totalBytes: 10,
    error: null,
    createdAt: `2026-12-01T00:00:0${id.length % 10}.000Z`,
    updatedAt: '2026-12-01T00:00:00.000Z',
  });
  const set = (id: string, column: string, value: string) =>
    db.prepare<[string, string]>(`UPDATE downloads SET ${column} = ? WHERE id = ?`).run(value, id);

  it('stores the file list with its version and reads it back', () => {
    repository.save(row('good'));
    const raw = db.prepare<[], { files: string }>("SELECT files FROM downloads WHERE id = 'good'").get();
    expect(JSON.parse(raw?.files ?? 'null')).toMatchObject({ version: 1 });
    expect(repository.all()).toEqual([row('good')]);
  });

  it.each([
    ['files', JSON.stringify({ version: 1, value: [{ path: 'x' }] }), /files column does not hold/],
    ['files', '[{', /files column is not JSON/],
  ])('leaves out a row whose %s is %s, saying why', (column, value, reason) => {
    repository.save(row('bad-row'));
    set('bad-row', column, value);
    const { rows, invalid } = repository.load();
    expect(rows.map((entry) => entry.id)).toEqual(['good']);
    expect(invalid).toEqual([{ id: 'bad-row', reason: expect.stringMatching(reason) }]);
    db.prepare("DELETE FROM downloads WHERE id = 'bad-row'").run();
  });
});
