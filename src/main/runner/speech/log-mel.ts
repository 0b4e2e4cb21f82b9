// Whisper's log-mel spectrogram, as its feature extractor computes it: a centered (reflect-padded)
// periodic Hann STFT with n_fft 400 and hop 160, power spectrum, a Slaney mel filter bank (0–8 kHz),
// log10, clamped to the maximum less 8, then (x + 4) / 4.
import FFT from 'fft.js';

/** The feature extractor's settings, from preprocessor_config.json. */
export interface MelSettings {
  /** Mel bins (`feature_size`): 80, or 128 for large-v3. */
  readonly melBins: number;
  readonly nFft: number;
  readonly hop: number;
  readonly samplingRate: number;
  /** Samples of one window (`n_samples`, 30 s at 16 kHz). */
  readonly windowSamples: number;
}

/**
 * Computes log-mel features. n_fft 400 is not a power of two, so each frame's DFT runs as
 * Bluestein's chirp-z convolution over fft.js' power-of-two transforms.
 */
export class LogMel {
  readonly #settings: MelSettings;
  readonly #window: Float64Array;
  readonly #filters: Float64Array;
  /** Each mel filter's first and last non-zero frequency bin. */
  readonly #bands: readonly (readonly [number, number])[];
  readonly #bins: number;
  readonly #fft: FFT;
  /** e^(-iπn²/N), interleaved, for the input side of the chirp. */
  readonly #chirp: Float64Array;
  /** The transformed chirp filter e^(iπm²/N), wrapped around the convolution length. */
  readonly #filterSpectrum: number[];

  constructor(settings: MelSettings) {
    this.#settings = settings;
    const n = settings.nFft;
    this.#bins = Math.floor(n / 2) + 1;
    this.#window = Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
    this.#filters = melFilters(this.#bins, settings.melBins, settings.samplingRate);
    this.#bands = Array.from({ length: settings.melBins }, (_, mel) => {
      const row = this.#filters.subarray(mel * this.#bins, (mel + 1) * this.#bins);
      const first = row.findIndex((weight) => weight > 0);
      const last = row.findLastIndex((weight) => weight > 0);
      return first < 0 ? ([0, -1] as const) : ([first, last] as const);
    });
    let size = 1;
    while (size < 2 * n - 1) size *= 2;
    this.#fft = new FFT(size);
    this.#chirp = new Float64Array(2 * n);
    const filter = this.#fft.createComplexArray();
    for (let i = 0; i < n; i++) {
      const angle = (Math.PI * ((i * i) % (2 * n))) / n;
      this.#chirp[2 * i] = Math.cos(angle);
      this.#chirp[2 * i + 1] = -Math.sin(angle);
      filter[2 * i] = Math.cos(angle);
      filter[2 * i + 1] = Math.sin(angle);
      if (i > 0) {
        filter[2 * (size - i)] = Math.cos(angle);
        filter[2 * (size - i) + 1] = Math.sin(angle);
      }
    }
    this.#filterSpectrum = this.#fft.createComplexArray();
    this.#fft.transform(this.#filterSpectrum, filter);
  }

  /** Mel bins of the features. */
  get melBins(): number {
    return this.#settings.melBins;
  }

  /**
   * The features of `samples` (16 kHz mono): `[melBins, frames]` row-major, frames =
   * ⌊samples / hop⌋. Audio of one window or less is zero-padded to the window first (3000 frames).
   */
  features(samples: Float32Array): { data: Float32Array; frames: number } {
    const { hop, nFft, windowSamples, melBins } = this.#settings;
    const audio = samples.length >= windowSamples ? samples : padded(samples, windowSamples);
    const frames = Math.floor(audio.length / hop);
    const pad = Math.floor(nFft / 2);
    const wave = reflectPad(audio, pad);
    // Frame by frame: the power spectrum of one frame, then its mel bins (each filter is a few
    // bins wide), so long audio never holds a whole spectrogram in memory.
    const power = new Float64Array(this.#bins);
    const data = new Float32Array(melBins * frames);
    const bands = this.#bands;
    let max = -Infinity;
    const size = this.#fft.size;
    const input = this.#fft.createComplexArray();
    const spectrum = this.#fft.createComplexArray();
    const product = this.#fft.createComplexArray();
    const output = this.#fft.createComplexArray();
    const filter = this.#filterSpectrum;
    for (let frame = 0; frame < frames; frame++) {
      const offset = frame * hop;
      input.fill(0);
      for (let i = 0; i < nFft; i++) {
        const x = (wave[offset + i] ?? 0) * (this.#window[i] as number);
        input[2 * i] = x * (this.#chirp[2 * i] as number);
        input[2 * i + 1] = x * (this.#chirp[2 * i + 1] as number);
      }
      this.#fft.transform(spectrum, input);
      for (let i = 0; i < size; i++) {
        const re = spectrum[2 * i] as number;
        const im = spectrum[2 * i + 1] as number;
        const fr = filter[2 * i] as number;
        const fi = filter[2 * i + 1] as number;
        product[2 * i] = re * fr - im * fi;
        product[2 * i + 1] = re * fi + im * fr;
      }
      this.#fft.inverseTransform(output, product);
      // The output chirp has unit magnitude: the power needs only the convolution.
      for (let k = 0; k < this.#bins; k++) {
        const re = output[2 * k] as number;
        const im = output[2 * k + 1] as number;
        power[k] = re * re + im * im;
      }
      for (let mel = 0; mel < melBins; mel++) {
        const [first, last] = bands[mel] as [number, number];
        let sum = 0;
        for (let k = first; k <= last; k++)
          sum += (this.#filters[mel * this.#bins + k] as number) * (power[k] as number);
        const value = Math.log10(Math.max(1e-10, sum));
        data[mel * frames + frame] = value;
        if (value > max) max = value;
      }
    }
    const floor = max - 8;
    for (let i = 0; i < data.length; i++) data[i] = (Math.max(data[i] as number, floor) + 4) / 4;
    return { data, frames };
  }
}

function padded(samples: Float32Array, length: number): Float32Array {
  const out = new Float32Array(length);
  out.set(samples);
  return out;
}

/** `audio` with `pad` samples reflected at each end (numpy's reflect: the edge is not repeated). */
function reflectPad(audio: Float32Array, pad: number): Float32Array {
  const out = new Float32Array(audio.length + 2 * pad);
  out.set(audio, pad);
  const last = audio.length - 1;
  for (let i = 1; i <= pad; i++) {
    out[pad - i] = audio[Math.min(i, last)] ?? 0;
    out[pad + last + i] = audio[Math.max(last - i, 0)] ?? 0;
  }
  return out;
}

const hertzToMel = (hertz: number) =>
  hertz >= 1000 ? 15 + (Math.log(hertz / 1000) * 27) / Math.log(6.4) : (3 * hertz) / 200;
const melToHertz = (mel: number) =>
  mel >= 15 ? 1000 * Math.exp((Math.log(6.4) / 27) * (mel - 15)) : (200 * mel) / 3;

/** Slaney-scale, Slaney-normalized triangular filters from 0 to 8 kHz: `[melBins, bins]`. */
function melFilters(bins: number, melBins: number, samplingRate: number): Float64Array {
  const low = hertzToMel(0);
  const high = hertzToMel(8000);
  const edges = Float64Array.from({ length: melBins + 2 }, (_, i) =>
    melToHertz(low + ((high - low) / (melBins + 1)) * i),
  );
  const nyquist = Math.floor(samplingRate / 2);
  const frequencies = Float64Array.from({ length: bins }, (_, j) => (nyquist / (bins - 1)) * j);
  const filters = new Float64Array(melBins * bins);
  for (let mel = 0; mel < melBins; mel++) {
    const left = edges[mel] as number;
    const center = edges[mel + 1] as number;
    const right = edges[mel + 2] as number;
    const norm = 2 / (right - left);
    for (let j = 0; j < bins; j++) {
      const f = frequencies[j] as number;
      const down = (f - left) / (center - left);
      const up = (right - f) / (right - center);
      filters[mel * bins + j] = Math.max(0, Math.min(down, up)) * norm;
    }
  }
  return filters;
}
