// The three graphs of an Idefics3 / SmolVLM export, found beside the chosen decoder file and
// checked once at load: a graph Lodge cannot feed is a clear load error, never a wrong answer.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Session } from '../onnx/session';
import { RunnerError } from '../runner-error';
import type { FloatType } from './half-precision';

/** The graph files of one variant: the decoder the library chose and its two siblings. */
export interface VisionGraphFiles {
  readonly visionEncoder: string;
  readonly embedTokens: string;
  readonly decoder: string;
}

/** What the merged decoder declares, beyond inputs_embeds and the past keys and values. */
export interface DecoderFeeds {
  readonly mask: boolean;
  readonly positions: boolean;
  readonly keep: string | null;
  readonly cacheBranch: boolean;
  /** The element type of inputs_embeds. */
  readonly embeds: FloatType;
  /** The element type of the past keys and values (and of the presents fed back). */
  readonly kv: FloatType;
}

/** What the vision encoder takes and gives. */
export interface EncoderFeeds {
  readonly pixelMask: boolean;
  /** The element type of pixel_values. */
  readonly pixels: FloatType;
}

const DECODER = /^decoder_model_merged(_[a-z0-9]+)?\.onnx$/;
const PAST = /^past_key_values\.\d+\.(key|value)$/;

/** The sibling graphs of `decoderFile` (`decoder_model_merged_q4.onnx` → `vision_encoder_q4.onnx`, …). */
export function visionGraphFiles(decoderFile: string, name: string): VisionGraphFiles {
  const match = DECODER.exec(basename(decoderFile));
  if (!match) {
    throw new RunnerError(
      'model_load_failed',
      `${name} cannot be loaded as a vision-language model: its graph ${basename(decoderFile)} is not a decoder_model_merged*.onnx file.`,
    );
  }
  const suffix = match[1] ?? '';
  const dir = dirname(decoderFile);
  const files = {
    visionEncoder: join(dir, `vision_encoder${suffix}.onnx`),
    embedTokens: join(dir, `embed_tokens${suffix}.onnx`),
    decoder: decoderFile,
  };
  for (const file of [files.visionEncoder, files.embedTokens]) {
    if (!existsSync(file))
      throw new RunnerError(
        'model_load_failed',
        `${name} cannot be loaded: its onnx/ folder has no ${basename(file)}.`,
      );
  }
  return files;
}

function refuse(name: string, detail: string): RunnerError {
  return new RunnerError(
    'model_load_failed',
    `${name} cannot be loaded as a vision-language model: ${detail}.`,
  );
}

function floatType(session: Session, tensor: string, name: string, graph: string): FloatType {
  const info = [...session.inputs, ...session.outputs].find((item) => item.name === tensor);
  if (info === undefined) throw refuse(name, `its ${graph} graph has no ${tensor}`);
  if (info.type !== 'float32' && info.type !== 'float16')
    throw refuse(
      name,
      `its ${graph} graph's ${tensor} is ${info.type === 'unknown' ? 'of a type onnxruntime-node cannot hand to JavaScript (bfloat16?)' : info.type}; Lodge runs variants whose inputs and outputs are float32 or float16 (fp32, fp16, q4, q4f16, int8, quantized)`,
    );
  return info.type;
}

/** Checks the vision encoder: pixel_values in, image_features out, and nothing else it needs fed. */
export function checkVisionEncoder(session: Session, name: string): EncoderFeeds {
  const pixels = floatType(session, 'pixel_values', name, 'vision encoder');
  floatType(session, 'image_features', name, 'vision encoder');
  for (const input of session.inputs) {
    if (input.name !== 'pixel_values' && input.name !== 'pixel_attention_mask')
      throw refuse(name, `its vision encoder has an input Lodge does not know how to feed (${input.name})`);
  }
  return { pixelMask: session.hasInput('pixel_attention_mask'), pixels };
}

/** Checks the token embedding graph: input_ids (int64) in, inputs_embeds out. */
export function checkEmbedTokens(session: Session, name: string): void {
  const ids = session.inputs.find((input) => input.name === 'input_ids');
  if (ids?.type !== 'int64' || session.inputs.length !== 1)
    throw refuse(name, 'its embed_tokens graph must take one int64 input_ids');
  floatType(session, 'inputs_embeds', name, 'embed_tokens');
}

/** Checks the merged decoder and returns what else it takes. */
export function checkDecoder(session: Session, name: string): DecoderFeeds {
  const embeds = floatType(session, 'inputs_embeds', name, 'decoder');
  floatType(session, 'logits', name, 'decoder');
  let keep: string | null = null;
  let kv: FloatType | null = null;
  for (const input of session.inputs) {
    if (PAST.test(input.name)) {
      const type = floatType(session, input.name, name, 'decoder');
      if (kv !== null && type !== kv) throw refuse(name, 'its past keys and values mix float32 and float16');
      kv = type;
    } else if (input.name === 'num_logits_to_keep' || input.name === 'logits_to_keep') {
      if (input.type !== 'int64')
        throw refuse(name, `its decoder's ${input.name} is ${input.type}, not int64`);
      keep = input.name;
    } else if (input.name === 'attention_mask' || input.name === 'position_ids') {
      if (input.type !== 'int64')
        throw refuse(name, `its decoder's ${input.name} is ${input.type}, not int64`);
    } else if (input.name === 'use_cache_branch') {
      if (input.type !== 'bool')
        throw refuse(name, `its decoder's use_cache_branch is ${input.type}, not bool`);
    } else if (input.name !== 'inputs_embeds') {
      throw refuse(name, `its decoder has an input Lodge does not know how to feed (${input.name})`);
    }
  }
  return {
    mask: session.hasInput('attention_mask'),
    positions: session.hasInput('position_ids'),
    keep,
    cacheBranch: session.hasInput('use_cache_branch'),
    embeds,
    kv: kv ?? 'float32',
  };
}
