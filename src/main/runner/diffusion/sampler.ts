// The denoising samplers, written from the diffusers schedulers they are named for
// (EulerAncestralDiscreteScheduler, EulerDiscreteScheduler, DPMSolverMultistepScheduler with
// dpmsolver++, solver order 2, midpoint, lower_order_final and a zero final sigma): the noise
// schedule from the betas, the timesteps by the config's spacing, and one update per step.
import type { SchedulerConfig } from './scheduler-config';

/** The timesteps the UNet sees, the noise level at each (plus a final 0), and the first noise's scale. */
export interface Schedule {
  readonly timesteps: readonly number[];
  /** One more than the timesteps: the last is the end of denoising (0). */
  readonly sigmas: readonly number[];
  readonly initNoiseSigma: number;
}

/** The training noise levels sqrt((1 − ᾱ) / ᾱ), one per training timestep. */
export function trainingSigmas(config: SchedulerConfig): Float64Array {
  const count = config.trainTimesteps;
  const sigmas = new Float64Array(count);
  let product = 1;
  for (let index = 0; index < count; index++) {
    const fraction = count === 1 ? 0 : index / (count - 1);
    const beta =
      config.betaSchedule === 'scaled_linear'
        ? (Math.sqrt(config.betaStart) +
            fraction * (Math.sqrt(config.betaEnd) - Math.sqrt(config.betaStart))) **
          2
        : config.betaStart + fraction * (config.betaEnd - config.betaStart);
    product *= 1 - beta;
    sigmas[index] = Math.sqrt((1 - product) / product);
  }
  return sigmas;
}

/** The schedule of `steps` denoising steps, as the config's scheduler class computes it. */
export function makeSchedule(config: SchedulerConfig, steps: number): Schedule {
  const count = config.trainTimesteps;
  const euler = config.kind !== 'dpmpp-2m';
  let timesteps: number[];
  if (config.timestepSpacing === 'trailing') {
    const ratio = count / steps;
    timesteps = Array.from({ length: steps }, (_, index) => roundHalfEven(count - index * ratio) - 1);
  } else if (config.timestepSpacing === 'leading') {
    // DPM-Solver spaces steps + 1 points and drops the last (timestep 0); Euler spaces `steps`.
    const points = euler ? steps : steps + 1;
    const ratio = Math.floor(count / points);
    timesteps = Array.from(
      { length: steps },
      (_, index) => roundHalfEven((points - 1 - index) * ratio) + config.stepsOffset,
    );
  } else {
    const points = euler ? steps : steps + 1;
    const last = count - 1;
    timesteps = Array.from({ length: steps }, (_, index) => {
      const value = points === 1 ? 0 : ((points - 1 - index) * last) / (points - 1);
      return euler ? value : roundHalfEven(value);
    });
  }
  const table = trainingSigmas(config);
  const sigmas = [...timesteps.map((timestep) => interpolate(table, timestep)), 0];
  const maxSigma = Math.max(...sigmas);
  const initNoiseSigma = !euler
    ? 1
    : config.timestepSpacing === 'leading'
      ? Math.sqrt(maxSigma * maxSigma + 1)
      : maxSigma;
  return { timesteps, sigmas, initNoiseSigma };
}

/** Runs one sampler over a schedule: the UNet's input scaling and the update after each step. */
export class Sampler {
  readonly schedule: Schedule;
  /** DPM-Solver++'s previous data prediction (x₀), for its second-order update. */
  #previous: Float32Array | null = null;

  constructor(
    readonly config: SchedulerConfig,
    steps: number,
  ) {
    this.schedule = makeSchedule(config, steps);
  }

  /** The latents as the UNet takes them at step `index` (Euler divides by √(σ² + 1)). */
  scaleInput(sample: Float32Array, index: number): Float32Array {
    if (this.config.kind === 'dpmpp-2m') return sample;
    const scale = 1 / Math.sqrt(this.#sigma(index) ** 2 + 1);
    return sample.map((value) => value * scale);
  }

  /**
   * The latents after step `index`, given the UNet's (guided) output. The ancestral sampler adds
   * fresh noise from `noise` at every step, the last included (scaled by its σ_up of 0).
   */
  step(index: number, output: Float32Array, sample: Float32Array, noise: () => Float32Array): Float32Array {
    if (this.config.kind === 'dpmpp-2m') return this.#dpmStep(index, output, sample);
    const sigma = this.#sigma(index);
    const next = this.#sigma(index + 1);
    const original = this.#eulerOriginal(output, sample, sigma);
    if (this.config.kind === 'euler') {
      const dt = next - sigma;
      return sample.map((value, at) => value + ((value - (original[at] as number)) / sigma) * dt);
    }
    const up = Math.sqrt((next * next * (sigma * sigma - next * next)) / (sigma * sigma));
    const down = Math.sqrt(next * next - up * up);
    const dt = down - sigma;
    const fresh = noise();
    return sample.map(
      (value, at) => value + ((value - (original[at] as number)) / sigma) * dt + (fresh[at] as number) * up,
    );
  }

  #sigma(index: number): number {
    return this.schedule.sigmas[index] as number;
  }

  #eulerOriginal(output: Float32Array, sample: Float32Array, sigma: number): Float32Array {
    if (this.config.predictionType === 'epsilon')
      return sample.map((value, at) => value - sigma * (output[at] as number));
    const outputScale = -sigma / Math.sqrt(sigma * sigma + 1);
    const sampleScale = 1 / (sigma * sigma + 1);
    return sample.map((value, at) => (output[at] as number) * outputScale + value * sampleScale);
  }

  #dpmStep(index: number, output: Float32Array, sample: Float32Array): Float32Array {
    const steps = this.schedule.timesteps.length;
    const current = alphaSigma(this.#sigma(index));
    const x0 =
      this.config.predictionType === 'epsilon'
        ? sample.map((value, at) => (value - current.sigma * (output[at] as number)) / current.alpha)
        : sample.map((value, at) => current.alpha * value - current.sigma * (output[at] as number));
    const target = alphaSigma(this.#sigma(index + 1));
    const h = target.lambda - current.lambda;
    const sampleScale = target.sigma / current.sigma;
    const dataScale = target.alpha * (Math.exp(-h) - 1);
    // The last step (to σ = 0) is first order, as with diffusers' zero final sigma.
    const previous = this.#previous;
    this.#previous = x0;
    if (previous === null || index === steps - 1)
      return sample.map((value, at) => sampleScale * value - dataScale * (x0[at] as number));
    const before = alphaSigma(this.#sigma(index - 1));
    const ratio = (current.lambda - before.lambda) / h;
    return sample.map((value, at) => {
      const d0 = x0[at] as number;
      const d1 = (d0 - (previous[at] as number)) / ratio;
      return sampleScale * value - dataScale * d0 - 0.5 * dataScale * d1;
    });
  }
}

/** α_t, σ_t and λ_t = log α_t − log σ_t of a noise level σ (λ is +∞ at σ = 0). */
function alphaSigma(sigma: number): { alpha: number; sigma: number; lambda: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const scaled = sigma * alpha;
  return { alpha, sigma: scaled, lambda: Math.log(alpha) - Math.log(scaled) };
}

/** `table` read at a fractional index, linearly between its neighbours (numpy's interp). */
function interpolate(table: Float64Array, position: number): number {
  const clamped = Math.min(Math.max(position, 0), table.length - 1);
  const low = Math.floor(clamped);
  const high = Math.min(low + 1, table.length - 1);
  const weight = clamped - low;
  return (table[low] as number) * (1 - weight) + (table[high] as number) * weight;
}

/** Rounds to the nearest integer, halves to even (numpy's round). */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const rest = value - floor;
  if (Math.abs(rest - 0.5) < 1e-9) return floor % 2 === 0 ? floor : floor + 1;
  return Math.round(value);
}
