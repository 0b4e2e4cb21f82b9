import { describe, expect, it } from 'vitest';
import { intRows, keepTensor, spanMask } from '../../../src/main/runner/llm/graph-inputs';

describe('spanMask', () => {
  it('sets each row to 1 on its own spans and 0 elsewhere, in int64', () => {
    const mask = spanMask(
      'int64',
      3,
      6,
      (row) =>
        [
          [2, 6],
          [0, 3],
          [1, 2, 4, 6],
        ][row] as number[],
    );
    expect(mask.type).toBe('int64');
    expect(mask.dims).toEqual([3, 6]);
    expect(Array.from(mask.data as BigInt64Array, Number)).toEqual([
      0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1,
    ]);
  });

  it('fills int32 masks too, and clips spans to the row', () => {
    const mask = spanMask('int32', 2, 4, (row) => (row === 0 ? [-2, 2] : [3, 9, 4, 4]));
    expect(mask.type).toBe('int32');
    expect(Array.from(mask.data as Int32Array)).toEqual([1, 1, 0, 0, 0, 0, 0, 1]);
  });
});

describe('intRows', () => {
  it('lays values out row by row in the declared type', () => {
    const ids = intRows('int64', 2, 3, (index) => index * 10);
    expect(ids.dims).toEqual([2, 3]);
    expect(Array.from(ids.data as BigInt64Array)).toEqual([0n, 10n, 20n, 30n, 40n, 50n]);
    const positions = intRows('int32', 1, 2, (index) => 7 + index);
    expect(Array.from(positions.data as Int32Array)).toEqual([7, 8]);
  });

  it('makes a scalar logits-to-keep', () => {
    expect(keepTensor('int64', 1).dims).toEqual([]);
    expect((keepTensor('int64', 0).data as BigInt64Array)[0]).toBe(0n);
    expect((keepTensor('int32', 1).data as Int32Array)[0]).toBe(1);
  });
});
