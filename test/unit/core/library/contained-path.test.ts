import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containedPath, isInside, unsafeNameReason } from '../../../../src/main/core/library/contained-path';

describe('names of files inside a model folder', () => {
  it.each([
    'config.json',
    'onnx/model_q4.onnx',
    'onnx/model.onnx_data_1',
    '1_Pooling/config.json',
    'a name with spaces.txt',
    '100%.txt',
    'bad%zzescape%2',
    'caf%C3%A9.txt',
  ])('accepts %j', (name) => {
    expect(unsafeNameReason(name)).toBeNull();
    expect(containedPath('/data/downloads/x', name, 'The test')).toBe(join('/data/downloads/x', name));
  });

  it.each([
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['../x', /climbs/],
    ['onnx/model.onnx_data/../../x', /climbs/],
    ['onnx/./model.onnx', /climbs/],
    ['onnx//model.onnx', /empty segment/],
    ['onnx/', /empty segment/],
    ['onnx\\..\\x', /backslash/],
    ['C:/x', /colon/],
    ['a\u0000b', /control/],
    ['a\nb', /control/],
    ['%2e%2e/x', /%-escapes/],
    ['onnx%2f..%2fx', /%-escapes/],
    ['%2E./x', /%-escapes/],
    ['%252e%252e/x', /%-escapes/],
    ['x'.repeat(2000), /too long/],
  ])('refuses %j', (name, reason) => {
    expect(unsafeNameReason(name)).toMatch(reason);
    expect(() => containedPath('/data/downloads/x', name, 'The test')).toThrow(
      /The test names a file that .*; Lodge refused it and wrote nothing/,
    );
  });

  it('tells inside from outside without reading the disk', () => {
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/b/c/d')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a/b/../c')).toBe(false);
    expect(isInside('/a/b', '/etc')).toBe(false);
  });
});
