// Sample-rate conversion by windowed-sinc interpolation (a Hann-windowed sinc, 8 zero crossings
// each side), low-passed at the lower rate's Nyquist frequency so downsampling does not alias.
// Rates in a small ratio (44.1 kHz → 16 kHz is 441:160) reuse one kernel per phase.

const ZERO_CROSSINGS = 8;

/** The most kernel phases kept; rates whose ratio needs more compute each kernel afresh. */
const MAX_PHASES = 4096;

/** `samples` at `from` Hz, converted to `to` Hz; returned as is when the rates agree. */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const divisor = gcd(Math.round(from), Math.round(to));
  const up = Math.round(to) / divisor;
  const down = Math.round(from) / divisor;
  const cutoff = Math.min(1, to / from);
  const reach = Math.ceil(ZERO_CROSSINGS / cutoff);
  const length = Math.floor((samples.length * up) / down);
  const out = new Float32Array(length);
  const phases = up <= MAX_PHASES ? new Map<number, Float64Array>() : null;
  for (let index = 0; index < length; index++) {
    const base = Math.floor((index * down) / up);
    const phase = (index * down) % up;
    let kernel = phases?.get(phase);
    if (kernel === undefined) {
      kernel = kernelFor(phase / up, reach, cutoff);
      phases?.set(phase, kernel);
    }
    let sum = 0;
    let weights = 0;
    for (let tap = 0; tap < kernel.length; tap++) {
      const source = base - reach + tap;
      if (source < 0 || source >= samples.length) continue;
      const weight = kernel[tap] as number;
      sum += (samples[source] as number) * weight;
      weights += weight;
    }
    out[index] = weights === 0 ? 0 : sum / weights;
  }
  return out;
}

/** The taps at offsets −reach…reach from a point `fraction` of a sample past the base sample. */
function kernelFor(fraction: number, reach: number, cutoff: number): Float64Array {
  const kernel = new Float64Array(2 * reach + 1);
  for (let tap = 0; tap < kernel.length; tap++) {
    const distance = tap - reach - fraction;
    const x = distance * cutoff;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const window = Math.abs(distance) >= reach ? 0 : 0.5 + 0.5 * Math.cos((Math.PI * distance) / reach);
    kernel[tap] = sinc * window;
  }
  return kernel;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
