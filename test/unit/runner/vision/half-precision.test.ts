import { describe, expect, it } from 'vitest';
import { float32ToHalf, halfBits, halfToFloat32 } from '../../../../src/main/runner/onnx/float16';
import { tensor } from '../../../../src/main/runner/onnx/session';
import { floatTensor, lastValues } from '../../../../src/main/runner/vision/half-precision';

describe('float32 to binary16 for fp16 vision graphs', () => {
  it('gives back every finite half value, subnormals and signed zeros included, bit for bit', () => {
    const patterns = Uint16Array.from({ length: 65536 }, (_, bits) => bits).filter(
      (bits) => (bits & 0x7c00) !== 0x7c00,
    );
    expect(float32ToHalf(halfToFloat32(patterns))).toEqual(patterns);
  });

  it('rounds to nearest, ties to even, and overflows to infinity', () => {
    // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): the even one, 1, wins.
    const [tie, above, big, nan, negative] = float32ToHalf(
      Float32Array.of(1 + 2 ** -11, 1 + 2 ** -11 + 2 ** -20, 1e6, NaN, -Infinity),
    );
    expect(tie).toBe(0x3c00);
    expect(above).toBe(0x3c01);
    expect(big).toBe(0x7c00);
    expect(Number.isNaN(halfToFloat32(Uint16Array.of(nan as number))[0])).toBe(true);
    expect(negative).toBe(0xfc00);
  });

  it('feeds float16 graphs binary16 bits and float32 graphs the values as they are', () => {
    const values = Float32Array.of(0.5, -2);
    const half = floatTensor('float16', values, [2]);
    expect(half.type).toBe('float16');
    // Under a Node with Float16Array onnxruntime re-views the bits as one: compare the bits.
    expect(Array.from(halfBits(half.data as Uint16Array))).toEqual([0x3800, 0xc000]);
    expect(floatTensor('float32', values, [2]).data).toBe(values);
  });

  it('reads the last row of float16 logits as float32', () => {
    const logits = tensor('float16', Uint16Array.of(0x3c00, 0x4000, 0x4200, 0xc400), [2, 2]);
    expect(Array.from(lastValues(logits, 2))).toEqual([3, -4]);
  });
});
