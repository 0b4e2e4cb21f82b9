// A speech export's graphs (Whisper, Moonshine): the encoder, and the decoder with its KV cache, either one merged
// graph (`use_cache_branch` picks the cached cross-attention keys after the first step) or the
// older pair of a first-step decoder and a decoder with past.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TensorType } from '../../../shared/engine';
import { float32ToHalf, halfBits, halfToFloat32 } from '../onnx/float16';
import {
  openSession,
  tensor,
  type OpenedSession,
  type OpenOptions,
  type OrtTensor,
  type Session,
} from '../onnx/session';
import { RunnerError } from '../runner-error';

const DECODER_NAME = /^(decoder_model_merged|decoder_model)((?:_[a-z0-9]+)?)\.onnx$/;

/** The files of one variant: the decoder chosen, and the encoder (and decoder with past) of its suffix. */
export function speechGraphFiles(decoderFile: string): {
  encoder: string;
  decoder: string;
  withPast: string | null;
} {
  const match = DECODER_NAME.exec(basename(decoderFile));
  if (!match)
    throw new RunnerError('model_load_failed', `${basename(decoderFile)} is not a Whisper decoder graph.`);
  const folder = dirname(decoderFile);
  const suffix = match[2] ?? '';
  const encoder = join(folder, `encoder_model${suffix}.onnx`);
  if (!existsSync(encoder))
    throw new RunnerError(
      'model_load_failed',
      `The model has no encoder_model${suffix}.onnx beside its decoder.`,
    );
  const withPast = join(folder, `decoder_with_past_model${suffix}.onnx`);
  return {
    encoder,
    decoder: decoderFile,
    withPast: match[1] === 'decoder_model' && existsSync(withPast) ? withPast : null,
  };
}

/** The result of one decoder step: the last position's logits, in float32. */
export interface DecoderStep {
  readonly logits: Float32Array;
  /** Logits of every fed position (the first step's, for the no-speech probability). */
  readonly all: Float32Array;
  readonly vocab: number;
}

/**
 * The sessions of a Whisper model and its decoder's cache for one pass over a window: `start`
 * feeds the prompt, `next` one token at a time.
 */
export class WhisperGraphs {
  #past = new Map<string, OrtTensor>();
  #encoderStates: OrtTensor | null = null;

  private constructor(
    private readonly encoder: Session,
    private readonly decoder: Session,
    private readonly withPast: Session | null,
    private readonly layers: number,
  ) {}

  /** Opens the encoder and decoder graphs of the variant whose decoder is `decoderFile`. */
  static async open(
    decoderFile: string,
    options: OpenOptions,
  ): Promise<{ graphs: WhisperGraphs; opened: OpenedSession }> {
    const files = speechGraphFiles(decoderFile);
    const encoder = await openSession(files.encoder, options);
    const decoder = await openSession(files.decoder, options);
    const withPast = files.withPast === null ? null : await openSession(files.withPast, options);
    const cached = withPast ?? decoder;
    const layers = cached.session.inputs.filter((input) =>
      /^past_key_values\.\d+\.decoder\.key$/.test(input.name),
    ).length;
    const merged = decoder.session.hasInput('use_cache_branch');
    if (
      !(encoder.session.hasInput('input_features') || encoder.session.hasInput('input_values')) ||
      !decoder.session.hasInput('input_ids') ||
      layers === 0 ||
      (!merged && withPast === null)
    ) {
      await Promise.all([encoder, decoder, withPast].map((opened) => opened?.session.release()));
      throw new RunnerError(
        'model_load_failed',
        'This is not a speech export Lodge can run: it needs an encoder with input_features (Whisper) or input_values (Moonshine) and a decoder with a KV cache (decoder_model_merged, or decoder_model with decoder_with_past_model).',
      );
    }
    return {
      graphs: new WhisperGraphs(encoder.session, decoder.session, withPast?.session ?? null, layers),
      opened: decoder,
    };
  }

  /** Whether the encoder hears raw samples (`input_values`, Moonshine) rather than log-mel features. */
  get takesRawAudio(): boolean {
    return this.encoder.hasInput('input_values');
  }

  /** Runs a raw-audio encoder (Moonshine) on one window's samples. */
  async encodeSamples(samples: Float32Array): Promise<void> {
    const input = this.encoder.inputs.find((info) => info.name === 'input_values');
    const half = input?.type === 'float16';
    const outputs = await this.encoder.run(
      {
        input_values: tensor(half ? 'float16' : 'float32', half ? float32ToHalf(samples) : samples, [
          1,
          samples.length,
        ]),
      },
      ['last_hidden_state'],
    );
    this.#encoderStates = outputs.last_hidden_state ?? null;
    this.#past.clear();
  }

  /** Runs the encoder on one window's features (`[melBins, frames]`). */
  async encode(features: Float32Array, melBins: number, frames: number): Promise<void> {
    const input = this.encoder.inputs.find((info) => info.name === 'input_features');
    const data = input?.type === 'float16' ? float32ToHalf(features) : features;
    const outputs = await this.encoder.run(
      {
        input_features: tensor(input?.type === 'float16' ? 'float16' : 'float32', data, [1, melBins, frames]),
      },
      ['last_hidden_state'],
    );
    this.#encoderStates = outputs.last_hidden_state ?? null;
    this.#past.clear();
  }

  /** Feeds the prompt tokens: the first decoder step of a window. */
  async start(tokens: readonly number[]): Promise<DecoderStep> {
    const feeds: Record<string, OrtTensor> = { input_ids: ids(tokens) };
    if (this.#encoderStates === null) throw new RunnerError('internal', 'The encoder has not run.');
    feeds.encoder_hidden_states = this.#encoderStates;
    if (this.decoder.hasInput('use_cache_branch')) {
      feeds.use_cache_branch = tensor('bool', Uint8Array.of(0), [1]);
      for (const info of this.decoder.inputs) {
        if (!info.name.startsWith('past_key_values.')) continue;
        const type: TensorType = info.type === 'float16' ? 'float16' : 'float32';
        const heads = typeof info.shape[1] === 'number' ? info.shape[1] : 1;
        const headDim = typeof info.shape[3] === 'number' ? info.shape[3] : 1;
        feeds[info.name] = tensor(type, type === 'float16' ? new Uint16Array(0) : new Float32Array(0), [
          1,
          heads,
          0,
          headDim,
        ]);
      }
    }
    const outputs = await this.decoder.run(feeds);
    this.#adopt(outputs, true);
    return step(outputs);
  }

  /** Feeds one generated token. */
  async next(token: number): Promise<DecoderStep> {
    const session = this.withPast ?? this.decoder;
    const feeds: Record<string, OrtTensor> = { input_ids: ids([token]) };
    if (session.hasInput('encoder_hidden_states') && this.#encoderStates !== null)
      feeds.encoder_hidden_states = this.#encoderStates;
    if (session.hasInput('use_cache_branch')) feeds.use_cache_branch = tensor('bool', Uint8Array.of(1), [1]);
    for (const [name, value] of this.#past) feeds[name] = value;
    const outputs = await session.run(feeds);
    this.#adopt(outputs, false);
    return step(outputs);
  }

  /** Keeps the presents as the next past; the cross-attention cache only from the first step. */
  #adopt(outputs: Record<string, OrtTensor>, first: boolean): void {
    for (let layer = 0; layer < this.layers; layer++) {
      for (const kind of first ? ['decoder', 'encoder'] : ['decoder']) {
        for (const part of ['key', 'value']) {
          const present = outputs[`present.${layer}.${kind}.${part}`];
          if (present === undefined)
            throw new RunnerError('internal', `The decoder gave no present.${layer}.${kind}.${part} output.`);
          this.#past.set(`past_key_values.${layer}.${kind}.${part}`, present);
        }
      }
    }
  }

  /** Frees the native sessions. */
  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.decoder.release(), this.withPast?.release()]);
  }
}

function ids(tokens: readonly number[]): OrtTensor {
  return tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]);
}

function step(outputs: Record<string, OrtTensor>): DecoderStep {
  const logits = outputs.logits;
  if (logits === undefined) throw new RunnerError('internal', 'The decoder gave no logits.');
  const vocab = logits.dims.at(-1) as number;
  const all =
    logits.type === 'float16'
      ? halfToFloat32(halfBits(logits.data as Uint16Array))
      : (logits.data as Float32Array);
  return { logits: all.slice(all.length - vocab), all, vocab };
}
