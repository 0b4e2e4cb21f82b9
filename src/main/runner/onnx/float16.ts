// Half-precision data as onnxruntime-node hands it over: raw IEEE 754 binary16 bits in a
// Uint16Array (runners run without Float16Array), read here into float32, and float32 values
// written as those bits for graphs that take float16.

import { halfBitsToNumber } from '../../../shared/float16';

/** The float32 value of every 16-bit pattern: 256 KiB, built at load, one indexed read per element. */
const HALF_TABLE = Float32Array.from({ length: 65536 }, (_, bits) => halfBitsToNumber(bits));

/**
 * The 16-bit patterns of half-precision `data`: a Uint16Array as is, or the same bytes re-viewed
 * where the runtime handed over a Float16Array (in-process use under a Node with Float16Array).
 */
export function halfBits(data: ArrayBufferView): Uint16Array {
  if (data instanceof Uint16Array) return data;
  return new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
}

/** Reads half-precision `bits` into `target` (a fresh Float32Array of the same length when absent). */
export function halfToFloat32(bits: Uint16Array, target = new Float32Array(bits.length)): Float32Array {
  // NOTE: bounded by a local: a loop re-reading `bits.length` runs slower in V8.
  const length = bits.length;
  for (let index = 0; index < length; index++) target[index] = HALF_TABLE[bits[index] as number] as number;
  return target;
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** The binary16 bits of one float32 value, rounded to nearest even; beyond ±65504 it is ±Infinity. */
export function float32ToHalfBits(value: number): number {
  scratch[0] = value;
  const bits = scratchBits[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0x80 + 15) return mantissa === 0 ? sign | 0x7c00 : 0x7e00;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - exponent;
    let half = full >> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  // A carry out of the mantissa rounds into the exponent, up to Infinity: the bit layout allows it.
  let half = (exponent << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** `values` as binary16 bits, rounded to nearest even. */
export function float32ToHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let index = 0; index < values.length; index++) out[index] = float32ToHalfBits(values[index] as number);
  return out;
}
