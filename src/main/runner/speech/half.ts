// float32 → IEEE 754 binary16 bits, for a speech graph that takes float16 features.

const FLOAT = new Float32Array(1);
const BITS = new Uint32Array(FLOAT.buffer);

/** The half-precision bits of `value`, rounded to nearest even; overflow becomes infinity. */
function halfOf(value: number): number {
  FLOAT[0] = value;
  const bits = BITS[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const half = exponent - 127 + 15;
  if (half >= 0x1f) return sign | 0x7c00;
  if (half <= 0) {
    if (half < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - half;
    const rounded =
      (full >>> shift) +
      ((full >>> (shift - 1)) & 1 && (full & ((1 << (shift - 1)) - 1) || (full >>> shift) & 1) ? 1 : 0);
    return sign | rounded;
  }
  let result = sign | (half << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (result & 1) === 1)) result += 1;
  return result;
}

/** The half-precision bits of every value of `values`. */
export function toHalfBits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let index = 0; index < values.length; index++) out[index] = halfOf(values[index] as number);
  return out;
}
