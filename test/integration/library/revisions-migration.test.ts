import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/main/core/db/connection';
import { writeJsonColumn } from '../../../src/main/core/db/json-column';
import { migrate } from '../../../src/main/core/db/migrate';
import { migrations } from '../../../src/main/core/db/migrations';
import { folderFiles, inspectModelFolder } from '../../../src/main/core/library/model-folder';
import { sha256File } from '../../../src/main/core/library/model-importer';
import { installFixture, TENSOR_MODEL, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const HUB_COMMIT = '0123456789abcdef0123456789abcdef01234567';

interface Revision {
  revision: string;
  active: boolean;
  pinned: boolean;
  bytes: number;
  source: unknown;
}

// A library as Lodge wrote it before revisions (schema 7): a pulled model, an imported one with its
// checksums, and a folder found in models/ whose checksums were never computed.
describe('a library from before revisions migrates with its current files as one revision each', () => {
  const dir = tempDir('lodge-old-library-');
  let core: TestCore;
  const revisions = async (id: string) =>
    ((await (await fetch(`${core.url}/app/models/${id}/revisions`)).json()) as { revisions: Revision[] })
      .revisions;

  beforeAll(async () => {
    const models = join(dir.path, 'models');
    mkdirSync(models, { recursive: true });
    const pulled = installFixture(TINY_LM, models, 'acme/pulled');
    const imported = installFixture(TENSOR_MODEL, models, 'local/imported');
    installFixture(TENSOR_MODEL, models, 'local/found');
    const db = openDatabase(join(dir.path, 'lodge.db'));
    migrate(db, migrations.slice(0, 7));
    expect(db.pragma('user_version', { simple: true })).toBe(7);
    const insert = db.prepare<[string, string, string, string, string, string]>(
      `INSERT INTO models (id, location, source, status, info, parameter_count, files, alias, tags, preset, added_at, last_used_at)
       VALUES (?, ?, ?, 'ready', ?, NULL, ?, NULL, '[]', '{}', ?, NULL)`,
    );
    const info = (folder: string, id: string) => {
      const result = inspectModelFolder(folder, id);
      if (!('record' in result)) throw new Error(result.reason);
      return writeJsonColumn(result.record);
    };
    const hashed = async (folder: string) =>
      Promise.all(
        folderFiles(folder).map(async (file) => ({
          ...file,
          sha256: await sha256File(join(folder, file.path)),
        })),
      );
    insert.run(
      'acme/pulled',
      pulled,
      writeJsonColumn({ kind: 'hub', repo: 'acme/pulled', revision: HUB_COMMIT }),
      info(pulled, 'acme/pulled'),
      writeJsonColumn(folderFiles(pulled).map((file) => ({ ...file, sha256: null }))),
      '2026-10-01T00:00:00.000Z',
    );
    insert.run(
      'local/imported',
      imported,
      writeJsonColumn({ kind: 'import', path: '/somewhere/imported', inPlace: false }),
      info(imported, 'local/imported'),
      writeJsonColumn(await hashed(imported)),
      '2026-10-02T00:00:00.000Z',
    );
    db.close();
    core = await startTestCore({ dataDir: dir.path });
  });
  afterAll(async () => {
    await core.dispose();
    dir.remove();
  });

  it('a pulled model keeps its hub commit as its one, active revision', async () => {
    expect(await revisions('acme/pulled')).toEqual([
      expect.objectContaining({
        revision: HUB_COMMIT,
        active: true,
        pinned: false,
        addedAt: '2026-10-01T00:00:00.000Z',
        bytes: folderFiles(join(dir.path, 'models/acme/pulled')).reduce((sum, file) => sum + file.bytes, 0),
      }),
    ]);
    const detail = (await (await fetch(`${core.url}/app/models/acme/pulled`)).json()) as { location: string };
    expect(detail.location).toBe(join(dir.path, 'models/acme/pulled'));
  });

  it('an imported model gets the revision of its content; a found folder gets one once it is checksummed', async () => {
    const [imported] = await revisions('local/imported');
    expect(imported).toMatchObject({ revision: expect.stringMatching(/^[0-9a-f]{64}$/), active: true });
    // The same files make the same revision, wherever they lie.
    await expect
      .poll(async () => (await revisions('local/found')).map((row) => row.revision))
      .toEqual([imported?.revision]);
    const answer = await fetch(
      `${core.url}/v2/models/${encodeURIComponent(`local/imported@${imported?.revision.slice(0, 7)}`)}/ready`,
    );
    expect(answer.status).toBe(200);
  });
});
