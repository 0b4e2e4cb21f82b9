// Half-precision data as onnxruntime-node hands it over: raw IEEE 754 binary16 bits in a
// Uint16Array (runners run without Float16Array), read here into float32.

let table: Float32Array | null = null;

/** The float32 value of every 16-bit pattern: 256 KiB, built once, one indexed load per element. */
function halfTable(): Float32Array {
  if (table !== null) return table;
  table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) table[bits] = halfBitsToNumber(bits);
  return table;
}

/** The value of one binary16 bit pattern (subnormals, infinities and NaN included). */
export function halfBitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

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
  const values = halfTable();
  for (let index = 0; index < bits.length; index++) target[index] = values[bits[index] as number] as number;
  return target;
}
