// Half-precision data as onnxruntime-node hands it over: raw IEEE 754 binary16 bits in a
// Uint16Array (runners run without Float16Array), read here into float32.

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
  for (let index = 0; index < bits.length; index++)
    target[index] = HALF_TABLE[bits[index] as number] as number;
  return target;
}
