import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import type { ImageProgress, ImageRequest, ImageResult, TensorInfo } from '../../../shared/engine';
import { ortErrorText } from '../onnx/ort-errors';
import {
  openSession,
  tensor,
  type OpenedSession,
  type OpenOptions,
  type OrtTensor,
  type Session,
} from '../onnx/session';
import { RunnerError } from '../runner-error';
import { ClipTokenizer } from './clip-tokenizer';
import { floatsOf, floatTensor } from './float-tensors';
import { gaussianNoise } from './noise';
import { Sampler } from './sampler';
import { readSchedulerConfig, type SchedulerConfig } from './scheduler-config';

/** The graphs of one variant: the UNet file chosen, and the same-named text encoder and VAE decoder. */
export function pipelineFiles(unetFile: string): { textEncoder: string; unet: string; vaeDecoder: string } {
  const root = dirname(dirname(unetFile));
  const name = basename(unetFile);
  const sibling = (folder: string) =>
    existsSync(join(root, folder, name)) ? join(root, folder, name) : join(root, folder, 'model.onnx');
  return { textEncoder: sibling('text_encoder'), unet: unetFile, vaeDecoder: sibling('vae_decoder') };
}

/** Denoising defaults when a request leaves them out: a turbo model takes one unguided step. */
interface Defaults {
  readonly steps: number;
  readonly guidanceScale: number;
}

/**
 * A Stable Diffusion pipeline on three onnxruntime sessions (text encoder, UNet, VAE decoder):
 * CLIP tokens → text embeddings → a seeded latent denoised step by step with classifier-free
 * guidance and the scheduler the config names → the VAE's pixels → PNG.
 */
export class DiffusionModel {
  private constructor(
    private readonly tokenizer: ClipTokenizer,
    private readonly textEncoder: Session,
    private readonly unet: Session,
    private readonly vaeDecoder: Session,
    readonly scheduler: SchedulerConfig,
    private readonly vaeScale: number,
    readonly defaults: Defaults,
  ) {}

  /** Opens the pipeline in `dir` whose UNet is `unetFile`; reports the UNet's session. */
  static async open(
    dir: string,
    unetFile: string,
    options: OpenOptions,
  ): Promise<{ model: DiffusionModel; opened: OpenedSession }> {
    const files = pipelineFiles(unetFile);
    const tokenizer = ClipTokenizer.open(join(dir, 'tokenizer'));
    const schedulerFile = join(dir, 'scheduler', 'scheduler_config.json');
    const schedulerJson = readJson(schedulerFile);
    if (schedulerJson === null)
      throw new RunnerError(
        'model_load_failed',
        'scheduler/scheduler_config.json is missing or not valid JSON.',
      );
    const scheduler = readSchedulerConfig(schedulerJson);
    const vaeConfig =
      readJson(join(dir, 'vae_decoder', 'config.json')) ?? readJson(join(dir, 'vae', 'config.json'));
    const scale = vaeConfig?.scaling_factor;
    const index = readJson(join(dir, 'model_index.json')) ?? {};
    const turbo =
      /turbo/i.test(basename(dir)) ||
      (typeof index._name_or_path === 'string' && /turbo/i.test(index._name_or_path)) ||
      (scheduler.kind === 'euler-ancestral' && scheduler.timestepSpacing === 'trailing');
    const opened: OpenedSession[] = [];
    try {
      for (const file of [files.textEncoder, files.unet, files.vaeDecoder]) {
        opened.push(await openSession(file, options));
      }
    } catch (error) {
      await Promise.all(opened.map((each) => each.session.release()));
      throw error;
    }
    const [text, unet, vae] = opened as [OpenedSession, OpenedSession, OpenedSession];
    const model = new DiffusionModel(
      tokenizer,
      text.session,
      unet.session,
      vae.session,
      scheduler,
      typeof scale === 'number' && scale > 0 ? scale : 0.18215,
      turbo ? { steps: 1, guidanceScale: 0 } : { steps: 20, guidanceScale: 7.5 },
    );
    model.#checkGraphs();
    return { model, opened: unet };
  }

  /** Generates the request's images; `progress` hears of every step; an abort stops between steps. */
  async generate(
    request: ImageRequest,
    signal: AbortSignal,
    progress: (event: ImageProgress) => void,
  ): Promise<ImageResult> {
    const steps = request.steps ?? this.defaults.steps;
    const guidanceScale = request.guidanceScale ?? this.defaults.guidanceScale;
    const context = await this.encodePrompt(request.prompt, request.negativePrompt, guidanceScale > 1);
    const images: { png: Uint8Array; seed: number }[] = [];
    for (let image = 0; image < request.count; image++) {
      const seed = (request.seed + image) >>> 0;
      const latents = await this.denoise(context, request.width, request.height, seed, steps, guidanceScale, {
        signal,
        onStep: (step) => progress({ image, images: request.count, step, steps }),
      });
      const pixels = await this.decode(latents, request.width, request.height);
      const png = await sharp(Buffer.from(pixels), {
        raw: { width: request.width, height: request.height, channels: 3 },
      })
        .png()
        .toBuffer();
      images.push({ png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), seed });
    }
    return { images, steps, guidanceScale, scheduler: this.scheduler.kind };
  }

  /**
   * The text encoder's hidden states for the prompt, with the negative prompt's ahead of them when
   * guided (the UNet's batch is [unconditioned, conditioned]).
   */
  async encodePrompt(prompt: string, negative: string, guided: boolean): Promise<Float32Array[]> {
    const texts = guided ? [negative, prompt] : [prompt];
    const input = this.textEncoder.inputs[0] as TensorInfo;
    const output = this.textEncoder.outputs.some((info) => info.name === 'last_hidden_state')
      ? 'last_hidden_state'
      : (this.textEncoder.outputs[0] as TensorInfo).name;
    const states: Float32Array[] = [];
    for (const text of texts) {
      const ids = this.tokenizer.encode(text);
      const feed =
        input.type === 'int64'
          ? tensor(
              'int64',
              BigInt64Array.from(ids, (id) => BigInt(id)),
              [1, ids.length],
            )
          : tensor('int32', ids, [1, ids.length]);
      const feeds: Record<string, OrtTensor> = { [input.name]: feed };
      // Some exports also take an attention mask: CLIP attends to every position, padding included.
      for (const extra of this.textEncoder.inputs.slice(1)) {
        if (extra.name !== 'attention_mask') continue;
        feeds[extra.name] =
          extra.type === 'int64'
            ? tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length])
            : tensor('int32', new Int32Array(ids.length).fill(1), [1, ids.length]);
      }
      const result = await this.#run(this.textEncoder, feeds, [output], 'text encoder');
      states.push(Float32Array.from(floatsOf(result[output] as OrtTensor)));
    }
    return states;
  }

  /** The final latents of one image: seeded noise denoised over `steps` with guidance `scale`. */
  async denoise(
    context: readonly Float32Array[],
    width: number,
    height: number,
    seed: number,
    steps: number,
    scale: number,
    hooks: { signal?: AbortSignal; onStep?: (step: number) => void } = {},
  ): Promise<Float32Array> {
    const channels = this.#latentChannels();
    const dims = [1, channels, height / 8, width / 8];
    const size = channels * (height / 8) * (width / 8);
    const noise = gaussianNoise(seed);
    const sampler = new Sampler(this.scheduler, steps);
    const { timesteps, initNoiseSigma } = sampler.schedule;
    let latents: Float32Array = noise(size).map((value) => value * initNoiseSigma);
    const guided = context.length === 2;
    const hiddenWidth = (context[0] as Float32Array).length;
    const sequence = this.tokenizer.maxLength;
    for (let index = 0; index < timesteps.length; index++) {
      const input = sampler.scaleInput(latents, index);
      const timestep = timesteps[index] as number;
      let output: Float32Array;
      if (guided && this.#batchOf(this.unet.inputs[0]) !== 1) {
        const both = await this.#unet(doubled(input), [2, ...dims.slice(1)], timestep, concat(context), [
          2,
          sequence,
          hiddenWidth / sequence,
        ]);
        output = guide(both.subarray(0, size), both.subarray(size, 2 * size), scale);
      } else if (guided) {
        const unconditioned = await this.#unet(input, dims, timestep, context[0] as Float32Array, [
          1,
          sequence,
          hiddenWidth / sequence,
        ]);
        const conditioned = await this.#unet(input, dims, timestep, context[1] as Float32Array, [
          1,
          sequence,
          hiddenWidth / sequence,
        ]);
        output = guide(unconditioned, conditioned, scale);
      } else {
        output = await this.#unet(input, dims, timestep, context[0] as Float32Array, [
          1,
          sequence,
          hiddenWidth / sequence,
        ]);
      }
      latents = sampler.step(index, output, latents, () => noise(size));
      hooks.onStep?.(index + 1);
      // NOTE: each UNet run blocks this thread; yielding lets a cancel and the progress messages through.
      await new Promise((resolve) => setImmediate(resolve));
      if (hooks.signal?.aborted) throw new RunnerError('cancelled', 'The image generation was cancelled.');
    }
    return latents;
  }

  /** RGB bytes (row-major, 3 per pixel) of the latents, decoded by the VAE and mapped from [−1, 1]. */
  async decode(latents: Float32Array, width: number, height: number): Promise<Uint8Array> {
    const input = this.vaeDecoder.inputs[0] as TensorInfo;
    const output = this.vaeDecoder.outputs.some((info) => info.name === 'sample')
      ? 'sample'
      : (this.vaeDecoder.outputs[0] as TensorInfo).name;
    const scaled = latents.map((value) => value / this.vaeScale);
    const result = await this.#run(
      this.vaeDecoder,
      { [input.name]: floatTensor(input.type, scaled, [1, this.#latentChannels(), height / 8, width / 8]) },
      [output],
      'VAE decoder',
    );
    const sample = result[output] as OrtTensor;
    const [, planes = 0, rows = 0, columns = 0] = sample.dims;
    if (planes < 3 || rows !== height || columns !== width)
      throw new RunnerError(
        'internal',
        `The VAE decoder returned an image of shape [${sample.dims.join(', ')}], not [1, 3, ${height}, ${width}].`,
      );
    const values = floatsOf(sample);
    const pixels = new Uint8Array(width * height * 3);
    const plane = width * height;
    for (let at = 0; at < plane; at++) {
      for (let channel = 0; channel < 3; channel++) {
        const value = (values[channel * plane + at] as number) / 2 + 0.5;
        pixels[at * 3 + channel] = Math.round(Math.min(1, Math.max(0, value)) * 255);
      }
    }
    return pixels;
  }

  async release(): Promise<void> {
    await Promise.all([this.textEncoder.release(), this.unet.release(), this.vaeDecoder.release()]);
  }

  async #unet(
    sample: Float32Array,
    dims: readonly number[],
    timestep: number,
    context: Float32Array,
    contextDims: readonly number[],
  ): Promise<Float32Array> {
    const [sampleInfo, timeInfo, contextInfo] = this.#unetInputs();
    const batch = dims[0] as number;
    const timeDims = timeInfo.shape.length === 0 ? [] : [this.#batchOf(timeInfo) === 1 ? 1 : batch];
    const count = timeDims.length === 0 ? 1 : (timeDims[0] as number);
    const timeTensor =
      timeInfo.type === 'int64'
        ? tensor('int64', new BigInt64Array(count).fill(BigInt(Math.round(timestep))), timeDims)
        : timeInfo.type === 'int32'
          ? tensor('int32', new Int32Array(count).fill(Math.round(timestep)), timeDims)
          : floatTensor(timeInfo.type, new Float32Array(count).fill(timestep), timeDims);
    const output = (this.unet.outputs[0] as TensorInfo).name;
    const result = await this.#run(
      this.unet,
      {
        [sampleInfo.name]: floatTensor(sampleInfo.type, sample, dims),
        [timeInfo.name]: timeTensor,
        [contextInfo.name]: floatTensor(contextInfo.type, context, contextDims),
      },
      [output],
      'UNet',
    );
    return Float32Array.from(floatsOf(result[output] as OrtTensor));
  }

  #unetInputs(): [TensorInfo, TensorInfo, TensorInfo] {
    const find = (name: string) => this.unet.inputs.find((info) => info.name === name);
    return [find('sample'), find('timestep'), find('encoder_hidden_states')] as [
      TensorInfo,
      TensorInfo,
      TensorInfo,
    ];
  }

  #checkGraphs(): void {
    const missing = ['sample', 'timestep', 'encoder_hidden_states'].filter(
      (name) => !this.unet.inputs.some((info) => info.name === name),
    );
    if (missing.length > 0)
      throw new RunnerError(
        'model_load_failed',
        `The UNet has no input ${missing.join(', ')}; a Stable Diffusion UNet takes sample, timestep and encoder_hidden_states.`,
      );
    if (this.textEncoder.inputs.length === 0 || this.vaeDecoder.inputs.length === 0)
      throw new RunnerError('model_load_failed', 'The text encoder or the VAE decoder has no input.');
  }

  #latentChannels(): number {
    const channels = this.unet.inputs.find((info) => info.name === 'sample')?.shape[1];
    return typeof channels === 'number' && channels > 0 ? channels : 4;
  }

  #batchOf(info: TensorInfo | undefined): number | null {
    const dim = info?.shape[0];
    return typeof dim === 'number' && dim > 0 ? dim : null;
  }

  async #run(
    session: Session,
    feeds: Record<string, OrtTensor>,
    fetches: readonly string[],
    what: string,
  ): Promise<Record<string, OrtTensor>> {
    try {
      return await session.run(feeds, fetches);
    } catch (error) {
      throw new RunnerError('internal', `The ${what} failed: ${ortErrorText(error)}`);
    }
  }
}

/** Classifier-free guidance: unconditioned + scale × (conditioned − unconditioned). */
function guide(unconditioned: Float32Array, conditioned: Float32Array, scale: number): Float32Array {
  return unconditioned.map((value, at) => value + scale * ((conditioned[at] as number) - value));
}

function doubled(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length * 2);
  out.set(values, 0);
  out.set(values, values.length);
  return out;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
