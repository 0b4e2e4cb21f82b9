import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  boundedJson,
  boundedJsonString,
  describeJsonPath,
  jsonBoundsProblem,
  jsonDepth,
  jsonTextOverflow,
} from '../../../../src/main/core/api/json-bounds';

/** A value nested `depth` levels deep, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level++) value = level % 2 === 0 ? { a: value } : [value];
  return value;
}

describe('jsonDepth', () => {
  it.each([
    [1, 0],
    [null, 0],
    ['text', 0],
    [{}, 1],
    [[], 1],
    [{ a: [1, { b: 2 }] }, 3],
  ])('%j is %i deep', (value, depth) => {
    expect(jsonDepth(value, 10)).toBe(depth);
  });
  it('measures 200,000 levels without overflowing the stack, stopping past the limit', () => {
    expect(jsonDepth(nested(200_000), 64)).toBe(65);
  });
});

describe('jsonTextOverflow', () => {
  it('is null within the limit, ignoring brackets inside strings', () => {
    expect(jsonTextOverflow('{"a":[1,{"b":"[[[[{{{{"}]}', 3)).toBeNull();
    expect(jsonTextOverflow('"\\"[[[["', 1)).toBeNull();
  });
  it('names the path to the container that overflows', () => {
    const text = `{"tools":[{"f":1},{"function":{"parameters":${'['.repeat(100_000)}${']'.repeat(100_000)}}}]}`;
    const path = jsonTextOverflow(text, 64);
    expect(path?.slice(0, 5)).toEqual(['tools', 1, 'function', 'parameters', 0]);
    expect(describeJsonPath(path ?? [], 'body')).toBe('body.tools.1.function.parameters.0.0.0.0…');
  });
  it('reads keys with escaped quotes and indexes after nested commas', () => {
    expect(jsonTextOverflow('{"a\\"b":[[1,2],[3,[[9]]]]}', 4)).toEqual(['a\\"b', 1, 1, 0]);
  });
});

describe('boundedJson', () => {
  const schema = z.object({ p: boundedJson({ maxDepth: 3, maxBytes: 20 }).optional() });
  it('accepts values within depth and size', () => {
    expect(schema.safeParse({ p: { a: [1] } }).success).toBe(true);
  });
  it('refuses a value too deep, at its path', () => {
    const result = schema.safeParse({ p: nested(10_000) });
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: ['p'], message: 'Must not be nested deeper than 3 levels.' }),
    ]);
  });
  it('refuses a value too large', () => {
    expect(schema.safeParse({ p: 'x'.repeat(30) }).error?.issues[0]?.message).toMatch(/larger than/);
  });
  it('keeps the schema it wraps', () => {
    const record = boundedJson({ maxDepth: 2, maxBytes: 100 }, z.record(z.string(), z.unknown()));
    expect(record.safeParse([1]).success).toBe(false);
    expect(record.safeParse({ a: 1 }).success).toBe(true);
  });
  it('says what is wrong in words', () => {
    expect(jsonBoundsProblem(nested(5), { maxDepth: 4, maxBytes: 100 })).toBe('nested deeper than 4 levels');
    expect(jsonBoundsProblem('é'.repeat(60), { maxDepth: 4, maxBytes: 100 })).toMatch(/larger than/);
  });
});

describe('boundedJsonString', () => {
  const schema = boundedJsonString({ maxDepth: 3, maxBytes: 1024 });
  it('accepts JSON within depth and text that is not JSON', () => {
    expect(schema.safeParse('{"a":[1]}').success).toBe(true);
    expect(schema.safeParse('not json').success).toBe(true);
  });
  it('refuses text too deep (counting brackets, JSON or not) or too long', () => {
    expect(schema.safeParse('[[[[]]]]').success).toBe(false);
    expect(schema.safeParse('not json [[[[').success).toBe(false);
    expect(schema.safeParse('x'.repeat(2000)).success).toBe(false);
  });
});
