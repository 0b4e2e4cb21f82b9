import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../../src/main/core/db/connection';
import { migrate } from '../../../../src/main/core/db/migrate';
import { migrations } from '../../../../src/main/core/db/migrations';
import { RevisionRepository, type RevisionRow } from '../../../../src/main/core/db/revision-repository';
import { ModelRevisions } from '../../../../src/main/core/library/model-revisions';
import { contentRevision, splitRevision } from '../../../../src/main/core/library/revision-id';
import { tempDir } from '../../../helpers/temp-dir';

describe('revision ids', () => {
  it('a content revision depends on the files, not on their order, and waits for every checksum', () => {
    const files = [
      { path: 'onnx/model.onnx', sha256: 'a'.repeat(64) },
      { path: 'config.json', sha256: 'b'.repeat(64) },
    ];
    const revision = contentRevision(files);
    expect(revision).toMatch(/^[0-9a-f]{64}$/);
    expect(contentRevision([...files].reverse())).toBe(revision);
    const renamed = files.map((file) =>
      file.path === 'config.json' ? { ...file, path: 'config2.json' } : file,
    );
    expect(contentRevision(renamed)).not.toBe(revision);
    expect(contentRevision([...files, { path: 'x', sha256: null }])).toBeNull();
  });

  it('splits a name at its @, a variant tag before it', () => {
    expect(splitRevision('acme/tiny:q4@abc1234')).toEqual({ name: 'acme/tiny:q4', revision: 'abc1234' });
    expect(splitRevision('acme/tiny')).toEqual({ name: 'acme/tiny', revision: null });
  });

  it('reads a variant written after the revision as one written before it', () => {
    expect(splitRevision('acme/tiny@abc1234:q4')).toEqual({ name: 'acme/tiny:q4', revision: 'abc1234' });
  });
});

describe('finding a revision by its commit or a prefix of it', () => {
  const dir = tempDir();
  const db = openDatabase(join(dir.path, 'lodge.db'));
  migrate(db, migrations);
  afterAll(() => {
    db.close();
    dir.remove();
  });
  const revisions = new ModelRevisions(new RevisionRepository(db), join(dir.path, 'models'));
  const row = (revision: string, active: boolean): RevisionRow => ({
    modelId: 'acme/tiny',
    revision,
    location: join(dir.path, 'models', revision),
    source: { kind: 'hub', repo: 'acme/tiny', revision },
    files: [],
    bytes: 1,
    pinned: false,
    active,
    addedAt: '2026-12-01T00:00:00.000Z',
    committedAt: null,
  });
  const first = `abcdef0${'1'.repeat(33)}`;
  const second = `abcdef0${'2'.repeat(33)}`;
  revisions.save(row(first, true));
  revisions.save(row(second, true));

  it('keeps one active revision per model, in the table as in memory', () => {
    expect(revisions.of('acme/tiny').map((entry) => [entry.revision, entry.active])).toEqual([
      [first, false],
      [second, true],
    ]);
    revisions.load();
    expect(revisions.active('acme/tiny')?.revision).toBe(second);
  });

  it('finds a whole commit or a unique prefix, in any case', () => {
    expect(revisions.find('acme/tiny', first).revision).toBe(first);
    expect(revisions.find('acme/tiny', 'ABCDEF02').revision).toBe(second);
  });

  it('answers 404 for a prefix that matches several, none, or is too short to mean one', () => {
    expect(() => revisions.find('acme/tiny', 'abcdef0')).toThrow(/matches several revisions of acme\/tiny/);
    expect(() => revisions.find('acme/tiny', '9999999')).toThrow(
      /acme\/tiny has no revision '9999999'. Its revisions: abcdef0, abcdef0/,
    );
    expect(() => revisions.find('acme/tiny', 'abc')).toThrow(/at least its first 7 characters/);
    expect(() => revisions.find('acme/tiny', '../../etc')).toThrow(/is not a revision of acme\/tiny/);
  });
});
