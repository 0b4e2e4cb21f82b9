import { describe, expect, it } from 'vitest';
import type { HubFile } from '../../../../src/main/core/hub/hub-client';
import { checkRepoFiles, compatibility } from '../../../../src/main/core/hub/repo-files';
import { validRepoId, validRevision } from '../../../../src/main/core/hub/repo-id';

const file = (path: string, extra: Partial<HubFile> = {}): HubFile => ({
  path,
  size: 10,
  sha256: null,
  gitOid: 'a'.repeat(40),
  ...extra,
});

describe('hub repo ids and revisions', () => {
  it.each([
    'acme/tiny-chat',
    'onnx-community/Qwen2.5-0.5B-Instruct',
    'Xenova/all-MiniLM-L6-v2',
    'a/b',
    'a_b/c.d',
  ])('accepts %s', (repo) => expect(validRepoId(repo)).toBe(repo));

  it.each([
    '../../admin/secret',
    '..%2F..%2Fadmin',
    'acme',
    'acme/tiny/extra',
    'acme/tiny--chat',
    'acme/tiny..chat',
    '-acme/tiny',
    'acme/tiny.',
    'acme/ tiny',
    'acme/tiny?x=1',
    'acme/tiny#x',
    `acme/${'x'.repeat(97)}`,
  ])('refuses %j', (repo) => expect(() => validRepoId(repo)).toThrow(/is not a hub repo id/));

  it.each(['main', 'v1.0', 'refs/pr/1', 'a'.repeat(40)])('accepts the revision %s', (revision) =>
    expect(validRevision(revision)).toBe(revision),
  );

  it.each(['..', '.', 'main/../x', '.hidden', 'main//x', 'main/', 'a b', 'x%2F..'])(
    'refuses the revision %j',
    (revision) => expect(() => validRevision(revision)).toThrow(/is not a revision/),
  );
});

describe("a repo's file list", () => {
  it('takes external data only from beside its graph', () => {
    const offer = compatibility([
      file('config.json'),
      file('onnx/model.onnx'),
      file('onnx/model.onnx_data'),
      file('onnx/model.onnx_data_1'),
      file('onnx/model.onnx.data'),
      file('onnx/model.onnx_data/../../escape'),
      file('onnx/model.onnx_database'),
    ]);
    expect(offer.variants[0]?.files.map((entry) => entry.path)).toEqual([
      'onnx/model.onnx',
      'onnx/model.onnx_data',
      'onnx/model.onnx_data_1',
      'onnx/model.onnx.data',
    ]);
  });

  it.each([
    [[file('../x')], /names a file that climbs out/],
    [[file('a'), file('a')], /lists the same file twice/],
    [[file('a', { size: -1 })], /size that is not a byte count/],
    [[file('a', { size: 1.5 })], /size that is not a byte count/],
    [[file('a', { sha256: '../../etc' })], /checksum that is not one/],
    [[file('a', { gitOid: 'zz' })], /checksum that is not one/],
  ])('refuses a list a real hub could not send (%#)', (files, reason) => {
    expect(() => checkRepoFiles('evil/x', files)).toThrow(reason);
  });
});
