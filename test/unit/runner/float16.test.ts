import { describe, expect, it } from 'vitest';
import { halfBits, halfToFloat32 } from '../../../src/main/runner/onnx/float16';
import { halfBitsToNumber } from '../../../src/shared/float16';

// Node 24 has a native Float16Array (runners are started without it); it is the reference here.
const NativeHalf = (globalThis as { Float16Array?: new (buffer: ArrayBuffer) => ArrayLike<number> })
  .Float16Array;

describe('reading half-precision bits', () => {
  it.runIf(NativeHalf !== undefined)('reads all 65,536 bit patterns as the native Float16Array does', () => {
    const bits = Uint16Array.from({ length: 65536 }, (_, index) => index);
    const native = new (NativeHalf as NonNullable<typeof NativeHalf>)(bits.buffer);
    const read = halfToFloat32(bits);
    const wrong: number[] = [];
    for (let index = 0; index < 65536; index++) {
      const same =
        Object.is(read[index], native[index]) || (Number.isNaN(read[index]) && Number.isNaN(native[index]));
      if (!same) wrong.push(index);
    }
    expect(wrong).toEqual([]);
  });

  it('reads normal, subnormal and special values', () => {
    expect(halfBitsToNumber(0x3c00)).toBe(1);
    expect(halfBitsToNumber(0xc000)).toBe(-2);
    expect(halfBitsToNumber(0x7bff)).toBe(65504);
    expect(halfBitsToNumber(0x0001)).toBe(2 ** -24);
    expect(halfBitsToNumber(0x7c00)).toBe(Infinity);
    expect(halfBitsToNumber(0xfc00)).toBe(-Infinity);
    expect(halfBitsToNumber(0x7e00)).toBeNaN();
  });

  it('re-views a Float16Array-like view of the same bytes without copying', () => {
    const bits = Uint16Array.of(0x3c00, 0x4000);
    const bytes = new Uint8Array(bits.buffer);
    const view = halfBits(bytes);
    expect(view.buffer).toBe(bits.buffer);
    expect(Array.from(halfToFloat32(view))).toEqual([1, 2]);
  });
});
