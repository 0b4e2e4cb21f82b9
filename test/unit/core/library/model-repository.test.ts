import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../../src/main/core/db/connection';
import { migrate } from '../../../../src/main/core/db/migrate';
import { migrations } from '../../../../src/main/core/db/migrations';
import { ModelRepository } from '../../../../src/main/core/db/model-repository';
import { ModelCatalog } from '../../../../src/main/core/library/model-catalog';
import { installFixture, TINY_LM } from '../../../fixtures/models';
import { tempDir } from '../../../helpers/temp-dir';

describe('the models table: JSON columns with a version, checked on read', () => {
  const dir = tempDir();
  const models = join(dir.path, 'models');
  installFixture(TINY_LM, models, 'acme/tiny');
  const db = openDatabase(join(dir.path, 'lodge.db'));
  migrate(db, migrations);
  const repository = new ModelRepository(db);
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
  const catalog = new ModelCatalog(models, repository, logger);
  catalog.refresh();
  afterAll(() => {
    db.close();
    dir.remove();
  });
  const raw = (id: string) =>
    db.prepare<[string], Record<string, string>>('SELECT * FROM models WHERE id = ?').get(id);
  const setColumn = (id: string, column: string, value: string) =>
    db.prepare<[string, string]>(`UPDATE models SET ${column} = ? WHERE id = ?`).run(value, id);

  it('writes each JSON column as { version, value }', () => {
    const row = raw('acme/tiny');
    for (const column of ['source', 'info', 'files', 'tags', 'preset'])
      expect(JSON.parse(row?.[column] ?? 'null')).toMatchObject({ version: 1, value: expect.anything() });
    expect(JSON.parse(row?.source ?? 'null')).toEqual({ version: 1, value: { kind: 'folder' } });
  });

  it('reads a row written before columns had a version', () => {
    setColumn('acme/tiny', 'preset', JSON.stringify({ temperature: 0.5 }));
    setColumn('acme/tiny', 'tags', JSON.stringify(['old']));
    const [row] = repository.all();
    expect(row).toMatchObject({ id: 'acme/tiny', preset: { temperature: 0.5 }, tags: ['old'] });
  });

  it.each([
    ['preset', JSON.stringify({ version: 1, value: { temperature: 'hot' } }), /preset column does not hold/],
    ['files', JSON.stringify({ version: 1, value: [{ path: 1 }] }), /files column does not hold/],
    ['source', JSON.stringify({ version: 1, value: { kind: 'martian' } }), /source column does not hold/],
    ['info', JSON.stringify({ version: 2, value: {} }), /info column has version 2, unknown to this Lodge/],
    ['tags', 'not json', /tags column is not JSON/],
  ])(
    'leaves out a row whose %s column is wrong, saying why, and never overwrites it',
    (column, value, reason) => {
      const good = raw('acme/tiny')?.[column] ?? '';
      setColumn('acme/tiny', column, value);
      const { rows, invalid } = repository.load();
      expect(rows).toEqual([]);
      expect(invalid).toEqual([{ id: 'acme/tiny', reason: expect.stringMatching(reason) }]);
      // The library logs it and shows it as unreadable; the folder scan does not take models/acme/tiny
      // in again as a new record over the row.
      warnings.length = 0;
      catalog.refresh();
      expect(warnings.join('')).toMatch(reason);
      expect(catalog.unreadable()).toEqual([{ id: 'acme/tiny', reason: expect.stringMatching(reason) }]);
      expect(() => catalog.get('acme/tiny')).toThrow(/record of acme\/tiny cannot be read by this Lodge/);
      expect(raw('acme/tiny')?.[column]).toBe(value);
      setColumn('acme/tiny', column, good);
      catalog.refresh();
      expect(catalog.get('acme/tiny').status).toBe('ready');
      expect(catalog.unreadable()).toEqual([]);
    },
  );
});
