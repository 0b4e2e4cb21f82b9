import { existsSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { diskFullError, isDiskFull } from '../../../src/main/core/disk-full';

function thrown(work: () => void): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}

describe('isDiskFull', () => {
  it('knows SQLite running out of pages (SQLITE_FULL)', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x TEXT)');
    db.pragma('max_page_count = 3');
    const error = thrown(() => db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(64 * 1024)));
    db.close();
    expect(isDiskFull(error)).toBe(true);
    expect(diskFullError(error)).toMatchObject({ code: 'insufficient_storage', cause: error });
  });

  it.skipIf(!existsSync('/dev/full'))(
    'knows a file write with no space left (ENOSPC), also as a cause',
    () => {
      const error = thrown(() => writeFileSync('/dev/full', 'x'));
      expect(isDiskFull(error)).toBe(true);
      expect(isDiskFull(new Error('the import failed', { cause: error }))).toBe(true);
    },
  );

  it('does not mistake other failures for a full disk', () => {
    expect(isDiskFull(thrown(() => writeFileSync('/nonexistent-dir/x', 'x')))).toBe(false);
    expect(isDiskFull(new Error('ENOSPC in the message only'))).toBe(false);
    expect(isDiskFull('ENOSPC')).toBe(false);
  });
});
