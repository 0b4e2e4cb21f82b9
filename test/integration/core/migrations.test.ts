import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/main/core/db/connection';
import { migrate, type Migration } from '../../../src/main/core/db/migrate';
import { migrations } from '../../../src/main/core/db/migrations';
import { SettingsRepository } from '../../../src/main/core/db/settings-repository';
import { tempDir } from '../../helpers/temp-dir';

describe('migrations on a real SQLite file', () => {
  let dir: ReturnType<typeof tempDir>;
  let file: string;
  let db: Db;

  beforeEach(() => {
    dir = tempDir();
    file = join(dir.path, 'lodge.db');
    db = openDatabase(file);
  });
  afterEach(() => {
    db.close();
    dir.remove();
  });

  const tables = () =>
    db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((row) => row.name);

  it('brings an empty database to the newest version with WAL and foreign keys on', () => {
    const result = migrate(db, migrations);
    expect(result).toEqual({
      from: 0,
      to: migrations.length,
      applied: migrations.map((migration) => migration.name),
    });
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
    expect(tables()).toEqual(expect.arrayContaining(['settings', 'request_log']));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(migrate(db, migrations).applied).toEqual([]);
  });

  it('upgrades a database left at an older version and keeps its data', () => {
    migrate(db, migrations.slice(0, 1));
    new SettingsRepository(db).write('logLevel', 'debug');
    db.close();

    db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    const result = migrate(db, migrations);
    expect(result.from).toBe(1);
    expect(result.applied).toEqual(migrations.slice(1).map((migration) => migration.name));
    expect(tables()).toContain('request_log');
    expect(new SettingsRepository(db).readAll().get('logLevel')).toBe('debug');
  });

  it('rolls back every pending migration when one fails', () => {
    const broken: Migration[] = [
      ...migrations,
      { version: migrations.length + 1, name: 'broken', sql: 'CREATE TABLE x (a); SELEC nonsense;' },
    ];
    expect(() => migrate(db, broken)).toThrow(/Migration \d+ \(broken\) failed/);
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    expect(tables()).not.toContain('settings');
  });

  it('refuses a database from a newer Lodge', () => {
    db.pragma(`user_version = ${migrations.length + 5}`);
    expect(() => migrate(db, migrations)).toThrow(/newer than this Lodge knows/);
  });

  it('refuses a migration list with a gap', () => {
    expect(() => migrate(db, [{ version: 2, name: 'gap', sql: '' }])).toThrow(/out of order/);
  });
});
