// Sample-rate conversion by windowed-sinc interpolation (a Hann-windowed sinc, 8 zero crossings
// each side), low-passed at the lower rate's Nyquist frequency so downsampling does not alias.

const ZERO_CROSSINGS = 8;

/** `samples` at `from` Hz, converted to `to` Hz; returned as is when the rates agree. */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const ratio = to / from;
  const cutoff = Math.min(1, ratio);
  const length = Math.floor(samples.length * ratio);
  const out = new Float32Array(length);
  const reach = ZERO_CROSSINGS / cutoff;
  for (let index = 0; index < length; index++) {
    const center = index / ratio;
    const first = Math.max(0, Math.ceil(center - reach));
    const last = Math.min(samples.length - 1, Math.floor(center + reach));
    let sum = 0;
    let weights = 0;
    for (let source = first; source <= last; source++) {
      const distance = source - center;
      const x = distance * cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const window = 0.5 + 0.5 * Math.cos((Math.PI * distance) / reach);
      const weight = sinc * window;
      sum += (samples[source] as number) * weight;
      weights += weight;
    }
    out[index] = weights === 0 ? 0 : sum / weights;
  }
  return out;
}
