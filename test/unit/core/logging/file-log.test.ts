import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLog } from '../../../../src/main/core/logging/file-log';
import { tempDir } from '../../../helpers/temp-dir';

const line = (level: number, msg: string) => `${JSON.stringify({ level, msg })}\n`;

describe('FileLog', () => {
  const dirs: { remove: () => void }[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) dir.remove();
  });

  it('appends lines to the file and drops writes after close', () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir.path, 'lodge.log');
    const log = new FileLog(file);
    log.write(line(30, 'one'));
    log.write(line(40, 'two'));
    log.close();
    log.write(line(30, 'after close'));
    expect(readFileSync(file, 'utf8')).toBe(line(30, 'one') + line(40, 'two'));
  });

  it.skipIf(!existsSync('/dev/full'))(
    'on a full disk (/dev/full) says so once and sends to stderr the lines that would not reach it anyway',
    () => {
      const stderr: string[] = [];
      const log = new FileLog('/dev/full', (text) => stderr.push(text));
      for (const msg of ['a', 'b', 'c']) log.write(line(30, msg));
      log.write(line(50, 'an error'));
      expect(
        stderr.filter((text) => /cannot write its log file \(the disk is full\)/.test(text)),
      ).toHaveLength(1);
      // Info lines go to stderr instead; warnings and errors already go there through their own stream.
      expect(stderr.filter((text) => text.startsWith('{'))).toEqual([
        line(30, 'a'),
        line(30, 'b'),
        line(30, 'c'),
      ]);
    },
  );

  it('retries at most once a second and says when the file works again', () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir.path, 'logs/lodge.log');
    const stderr: string[] = [];
    let now = 0;
    const log = new FileLog(
      file,
      (text) => stderr.push(text),
      () => now,
    );
    log.write(line(30, 'lost 1'));
    mkdirSync(join(dir.path, 'logs'));
    now = 999;
    log.write(line(30, 'lost 2'));
    expect(existsSync(file)).toBe(false);
    now = 1000;
    log.write(line(30, 'kept'));
    expect(readFileSync(file, 'utf8')).toBe(line(30, 'kept'));
    expect(stderr.filter((text) => !text.startsWith('{'))).toEqual([
      expect.stringMatching(/cannot write its log file \(ENOENT\)/),
      expect.stringMatching(/can write its log file again .*; 2 lines in between/),
    ]);
    log.close();
  });
});
