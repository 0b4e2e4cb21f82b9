// Lodge's diffusion pipeline against a bare onnxruntime loop written here from the diffusers
// schedulers' update rules, on generated Stable Diffusion layouts: the same seed must give the same
// final latents (to 1e-4) and the same pixels. The schedules are checked against values derived
// independently: the timesteps of Table 2 of Lin et al., "Common Diffusion Noise Schedules and
// Sample Steps are Flawed" (2023), which defines linspace / leading / trailing spacing, and the noise
// levels of Stable Diffusion's scaled-linear betas, whose ends k-diffusion quotes as σ_max ≈ 14.6146
// and σ_min ≈ 0.0292.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../../src/main/runner/diffusion/clip-tokenizer';
import { DiffusionModel } from '../../../src/main/runner/diffusion/diffusion-model';
import { makeSchedule } from '../../../src/main/runner/diffusion/sampler';
import {
  readSchedulerConfig,
  type SchedulerConfig,
} from '../../../src/main/runner/diffusion/scheduler-config';
import { TINY_TURBO, writeDiffusionModel, type DiffusionSpec } from '../../fixtures/diffusion';
import { seededRandom } from '../../fixtures/onnx-builder';
import { tempDir } from '../../helpers/temp-dir';

const SD_BETAS = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
};

function config(className: string, spacing: string, extra: Record<string, unknown> = {}): SchedulerConfig {
  return readSchedulerConfig({
    _class_name: className,
    ...SD_BETAS,
    timestep_spacing: spacing,
    steps_offset: 1,
    ...extra,
  });
}

/** σ_t = √(1/ᾱ_t − 1), with ᾱ_t summed in the log domain (not the product the sampler takes). */
function sigmaAt(t: number): number {
  const sigma = (step: number) => {
    let logProduct = 0;
    for (let index = 0; index <= step; index++) {
      const beta = (Math.sqrt(0.00085) + (index / 999) * (Math.sqrt(0.012) - Math.sqrt(0.00085))) ** 2;
      logProduct += Math.log1p(-beta);
    }
    return Math.sqrt(Math.exp(-logProduct) - 1);
  };
  const low = Math.floor(t);
  const weight = t - low;
  return weight === 0 ? sigma(low) : sigma(low) * (1 - weight) + sigma(low + 1) * weight;
}

describe('diffusion schedules', () => {
  it('spaces timesteps as Lin et al. Table 2 lists them (10 of 1000 training steps)', () => {
    const tens = (from: number, step: number) =>
      Array.from({ length: 10 }, (_, index) => from - index * step);
    expect(makeSchedule(config('EulerDiscreteScheduler', 'linspace'), 10).timesteps).toEqual(tens(999, 111));
    expect(makeSchedule(config('EulerDiscreteScheduler', 'leading'), 10).timesteps).toEqual(tens(901, 100));
    expect(makeSchedule(config('EulerAncestralDiscreteScheduler', 'trailing'), 10).timesteps).toEqual(
      tens(999, 100),
    );
    // DPM-Solver spaces steps + 1 points and drops the last: 999 … 0 by 99.9, rounded half to even.
    expect(makeSchedule(config('DPMSolverMultistepScheduler', 'linspace'), 10).timesteps).toEqual([
      999, 899, 799, 699, 599, 500, 400, 300, 200, 100,
    ]);
    // Leading: 1000 // 11 = 90 apart, plus steps_offset.
    expect(makeSchedule(config('DPMSolverMultistepScheduler', 'leading'), 10).timesteps).toEqual(
      tens(901, 90),
    );
    expect(makeSchedule(config('DPMSolverMultistepScheduler', 'trailing'), 4).timesteps).toEqual([
      999, 749, 499, 249,
    ]);
    // SD-Turbo's one step starts from pure noise at the last training timestep.
    expect(makeSchedule(config('EulerAncestralDiscreteScheduler', 'trailing'), 1).timesteps).toEqual([999]);
  });

  it('gives Stable Diffusion’s noise levels, interpolated between training steps, ending at 0', () => {
    const trailing = makeSchedule(config('EulerAncestralDiscreteScheduler', 'trailing'), 1);
    expect(trailing.sigmas[0]).toBeCloseTo(14.6146, 3);
    expect(trailing.sigmas).toHaveLength(2);
    expect(trailing.sigmas[1]).toBe(0);
    expect(trailing.initNoiseSigma).toBeCloseTo(14.6146, 3);
    expect(sigmaAt(0)).toBeCloseTo(0.0292, 4);
    // Seven linspace steps fall between training steps (999 × k / 6).
    const euler = makeSchedule(config('EulerDiscreteScheduler', 'linspace'), 7);
    expect(euler.timesteps[1]).toBeCloseTo(832.5, 9);
    euler.timesteps.forEach((t, index) => expect(euler.sigmas[index]).toBeCloseTo(sigmaAt(t), 9));
    // Leading spacing starts below σ_max, so the first noise is scaled by √(σ² + 1).
    const leading = makeSchedule(config('EulerDiscreteScheduler', 'leading'), 10);
    expect(leading.initNoiseSigma).toBeCloseTo(Math.sqrt(sigmaAt(901) ** 2 + 1), 9);
    const dpm = makeSchedule(config('DPMSolverMultistepScheduler', 'linspace'), 10);
    dpm.timesteps.forEach((t, index) => expect(dpm.sigmas[index]).toBeCloseTo(sigmaAt(t), 9));
    expect(dpm.initNoiseSigma).toBe(1);
  });
});

/** Box–Muller over mulberry32, written again here: the bare loop's own noise. */
function noiseStream(seed: number): (count: number) => Float32Array {
  const random = seededRandom(seed);
  return (count) => {
    const out = new Float32Array(count);
    for (let index = 0; index < count; index += 2) {
      const u = 1 - random();
      const v = random();
      out[index] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      if (index + 1 < count) out[index + 1] = Math.sqrt(-2 * Math.log(u)) * Math.sin(2 * Math.PI * v);
    }
    return out;
  };
}

interface Case {
  readonly name: string;
  readonly spec: DiffusionSpec;
  readonly steps: number;
  readonly guidance: number;
}

const CASES: readonly Case[] = [
  {
    name: 'SD-Turbo style: Euler ancestral, trailing, one unguided step',
    spec: TINY_TURBO,
    steps: 1,
    guidance: 0,
  },
  { name: 'Euler ancestral, four unguided steps', spec: { ...TINY_TURBO, seed: 4 }, steps: 4, guidance: 0 },
  {
    name: 'Euler discrete, leading, guided',
    spec: { ...TINY_TURBO, scheduler: 'EulerDiscreteScheduler', timestepSpacing: 'leading', seed: 5 },
    steps: 5,
    guidance: 7.5,
  },
  {
    name: 'DPM-Solver++ 2M, v-prediction, int64 timesteps, guided',
    spec: {
      ...TINY_TURBO,
      scheduler: 'DPMSolverMultistepScheduler',
      timestepSpacing: 'linspace',
      predictionType: 'v_prediction',
      timestepType: 'int64',
      seed: 6,
    },
    steps: 6,
    guidance: 5,
  },
];

/** The bare loop: three sessions, the scheduler's update rules as diffusers writes them, nothing of Lodge's but the token ids. */
async function bareLoop(
  dir: string,
  spec: DiffusionSpec,
  prompt: string,
  seed: number,
  steps: number,
  guidance: number,
) {
  const open = (part: string) => ort.InferenceSession.create(join(dir, part, 'model.onnx'));
  const [text, unet, vae] = await Promise.all([open('text_encoder'), open('unet'), open('vae_decoder')]);
  const tokenizer = ClipTokenizer.open(join(dir, 'tokenizer'));
  const encode = async (words: string) => {
    const ids = tokenizer.encode(words);
    const out = await text.run({ input_ids: new ort.Tensor('int32', ids, [1, ids.length]) });
    return out.last_hidden_state as ort.Tensor;
  };
  const guided = guidance > 1;
  const cond = await encode(prompt);
  const uncond = guided ? await encode('') : null;
  const { timesteps, sigmas, initNoiseSigma } = makeScheduleHere(spec, steps);
  const size = 4 * 8 * 8;
  const noise = noiseStream(seed);
  let x = noise(size).map((value) => value * initNoiseSigma);
  let previousX0: Float32Array | null = null;
  const unetAt = async (input: Float32Array, t: number, context: ort.Tensor) => {
    const time =
      spec.timestepType === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.of(BigInt(Math.round(t))), [1])
        : new ort.Tensor('float32', Float32Array.of(t), [1]);
    const out = await unet.run({
      sample: new ort.Tensor('float32', input, [1, 4, 8, 8]),
      timestep: time,
      encoder_hidden_states: context,
    });
    return out.out_sample?.data as Float32Array;
  };
  for (let i = 0; i < steps; i++) {
    const sigma = sigmas[i] as number;
    const next = sigmas[i + 1] as number;
    const t = timesteps[i] as number;
    const euler = spec.scheduler !== 'DPMSolverMultistepScheduler';
    const input = euler ? x.map((value) => value / Math.sqrt(sigma * sigma + 1)) : x;
    const c = await unetAt(input, t, cond);
    const eps = uncond
      ? (await unetAt(input, t, uncond)).map((u, at) => u + guidance * ((c[at] as number) - u))
      : c;
    if (euler) {
      const x0 = x.map((value, at) =>
        spec.predictionType === 'epsilon'
          ? value - sigma * (eps[at] as number)
          : (eps[at] as number) * (-sigma / Math.sqrt(sigma * sigma + 1)) + value / (sigma * sigma + 1),
      );
      if (spec.scheduler === 'EulerDiscreteScheduler') {
        x = x.map((value, at) => value + ((value - (x0[at] as number)) / sigma) * (next - sigma));
      } else {
        const up = Math.sqrt((next ** 2 * (sigma ** 2 - next ** 2)) / sigma ** 2);
        const down = Math.sqrt(next ** 2 - up ** 2);
        const fresh = noise(size);
        x = x.map(
          (value, at) =>
            value + ((value - (x0[at] as number)) / sigma) * (down - sigma) + (fresh[at] as number) * up,
        );
      }
      continue;
    }
    const alpha = (s: number) => 1 / Math.sqrt(s * s + 1);
    const lambda = (s: number) => Math.log(alpha(s)) - Math.log(s * alpha(s));
    const x0 = x.map((value, at) =>
      spec.predictionType === 'epsilon'
        ? (value - sigma * alpha(sigma) * (eps[at] as number)) / alpha(sigma)
        : alpha(sigma) * value - sigma * alpha(sigma) * (eps[at] as number),
    );
    const h = lambda(next) - lambda(sigma);
    const a = (next * alpha(next)) / (sigma * alpha(sigma));
    const b = alpha(next) * (Math.exp(-h) - 1);
    const first = previousX0 === null || i === steps - 1;
    const before = previousX0;
    const r = first ? 1 : (lambda(sigma) - lambda(sigmas[i - 1] as number)) / h;
    x = x.map((value, at) => {
      const d1 = first || before === null ? 0 : ((x0[at] as number) - (before[at] as number)) / r;
      return a * value - b * (x0[at] as number) - 0.5 * b * d1;
    });
    previousX0 = x0;
  }
  const decoded = await vae.run({
    latent_sample: new ort.Tensor(
      'float32',
      x.map((value) => value / 0.18215),
      [1, 4, 8, 8],
    ),
  });
  const rgb = decoded.sample?.data as Float32Array;
  const pixels = new Uint8Array(64 * 64 * 3);
  for (let at = 0; at < 64 * 64; at++)
    for (let channel = 0; channel < 3; channel++)
      pixels[at * 3 + channel] = Math.round(
        Math.min(1, Math.max(0, (rgb[channel * 4096 + at] as number) / 2 + 0.5)) * 255,
      );
  await Promise.all([text.release(), unet.release(), vae.release()]);
  return { latents: x, pixels };
}

/** numpy's round: halves go to the even neighbour (166.5 → 166). */
function halfEven(value: number): number {
  const floor = Math.floor(value);
  if (value - floor !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The bare loop's schedule, from the spacing definitions (Lin et al., Table 2) and {@link sigmaAt}. */
function makeScheduleHere(spec: DiffusionSpec, steps: number) {
  const down = (count: number, at: (k: number) => number) =>
    Array.from({ length: count }, (_, k) => at(count - 1 - k));
  let timesteps: number[];
  if (spec.timestepSpacing === 'trailing')
    timesteps = down(steps, (k) => Math.round(1000 - (steps - 1 - k) * (1000 / steps)) - 1);
  else if (spec.timestepSpacing === 'leading')
    timesteps = down(steps, (k) => k * Math.floor(1000 / steps) + 1);
  else if (spec.scheduler === 'DPMSolverMultistepScheduler')
    timesteps = down(steps + 1, (k) => halfEven((999 * k) / steps)).slice(0, steps);
  else timesteps = down(steps, (k) => (999 * k) / (steps - 1));
  const sigmas = [...timesteps.map(sigmaAt), 0];
  const initNoiseSigma =
    spec.scheduler === 'DPMSolverMultistepScheduler'
      ? 1
      : spec.timestepSpacing === 'leading'
        ? Math.sqrt((sigmas[0] as number) ** 2 + 1)
        : (sigmas[0] as number);
  return { timesteps, sigmas, initNoiseSigma };
}

describe('Lodge’s diffusion pipeline against a bare onnxruntime loop', () => {
  const root = tempDir();
  afterAll(() => root.remove());
  beforeAll(() => {
    for (const [index, each] of CASES.entries()) {
      mkdirSync(join(root.path, String(index)));
      writeDiffusionModel(join(root.path, String(index)), each.spec);
    }
  });

  for (const [index, each] of CASES.entries()) {
    it(`${each.name}: same latents, same pixels`, async () => {
      const dir = join(root.path, String(index));
      const prompt = 'a photo of a cat on a red chair';
      const seed = 1234 + index;
      const bare = await bareLoop(dir, each.spec, prompt, seed, each.steps, each.guidance);
      const { model } = await DiffusionModel.open(dir, join(dir, 'unet', 'model.onnx'), {
        providers: ['cpu'],
        threads: 1,
        cacheDir: null,
      });
      try {
        const context = await model.encodePrompt(prompt, '', each.guidance > 1);
        const latents = await model.denoise(context, 64, 64, seed, each.steps, each.guidance);
        expect(latents.length).toBe(bare.latents.length);
        let worst = 0;
        latents.forEach(
          (value, at) => (worst = Math.max(worst, Math.abs(value - (bare.latents[at] as number)))),
        );
        expect(worst).toBeLessThan(1e-4);
        const result = await model.generate(
          {
            prompt,
            negativePrompt: '',
            width: 64,
            height: 64,
            count: 1,
            seed,
            steps: each.steps,
            guidanceScale: each.guidance,
          },
          new AbortController().signal,
          () => undefined,
        );
        const png = result.images[0]?.png ?? new Uint8Array();
        const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
        expect(info).toMatchObject({ width: 64, height: 64, channels: 3 });
        let off = 0;
        data.forEach((value, at) => (off = Math.max(off, Math.abs(value - (bare.pixels[at] as number)))));
        expect(off).toBeLessThanOrEqual(1);
        // Not a flat image: random weights still draw something.
        expect(new Set(data).size).toBeGreaterThan(8);
      } finally {
        await model.release();
      }
    });
  }
});
