import { cpSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../../src/main/core/db/connection';
import { migrate } from '../../../../src/main/core/db/migrate';
import { migrations } from '../../../../src/main/core/db/migrations';
import { ModelRepository } from '../../../../src/main/core/db/model-repository';
import { ModelCatalog } from '../../../../src/main/core/library/model-catalog';
import { writeDemoFolder } from '../../../fixtures/demo-folder';
import { fixturePath, TINY_LM } from '../../../fixtures/models';
import { tempDir } from '../../../helpers/temp-dir';

// The models watcher rescans whenever models/<owner>/ changes, so a scan can land while the demo
// writer is still filling its partial folder. The partial folder must be one the scan passes over.
describe('a demo model being written', () => {
  const dir = tempDir();
  const models = join(dir.path, 'models');
  const db = openDatabase(join(dir.path, 'lodge.db'));
  migrate(db, migrations);
  const catalog = new ModelCatalog(models, new ModelRepository(db), pino({ level: 'silent' }));
  afterAll(() => {
    db.close();
    dir.remove();
  });

  it('is not seen by a library scan halfway through, under its partial name', () => {
    let seenMidway: string[] = [];
    writeDemoFolder(models, 'demo/chat', (partial) => {
      cpSync(fixturePath(TINY_LM), partial, {
        recursive: true,
        filter: (source) => !source.endsWith('.complete'),
      });
      catalog.rescan();
      seenMidway = catalog.list().map((record) => record.id);
    });
    expect(seenMidway).toEqual([]);
    catalog.rescan();
    expect(catalog.list().map((record) => record.id)).toEqual(['demo/chat']);
  });
});
