import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelTask, TensorInfo } from '../../../shared/engine';
import type { KeptModelState } from '../db/model-repository';
import { readOnnxSignature } from './onnx-signature';

/** The ONNX variants a Hugging Face export may ship, by file-name suffix. */
export const VARIANTS = [
  'fp32',
  'fp16',
  'q4',
  'q4f16',
  'quantized',
  'int8',
  'uint8',
  'bnb4',
  'q8',
  'bf16',
] as const;

/** One of {@link VARIANTS}. */
export type VariantName = (typeof VARIANTS)[number];

/** One ONNX file of a model, with the bytes it and its external data take. */
export interface ModelVariant {
  readonly name: VariantName;
  readonly file: string;
  readonly bytes: number;
}

/** What a model folder holds, as read from disk. */
export interface FolderInfo {
  readonly id: string;
  readonly dir: string;
  readonly format: 'hf-onnx' | 'onnx';
  readonly task: ModelTask;
  readonly architecture: string | null;
  readonly variants: readonly ModelVariant[];
  readonly contextLength: number | null;
  readonly hasChatTemplate: boolean;
  /** Sampling defaults from generation_config.json, used where a request leaves a field out. */
  readonly generationDefaults: GenerationDefaults;
  /** The chat template's source, for Ollama's show. */
  readonly chatTemplate: string | null;
  /** When the folder last changed (ms since the epoch). */
  readonly modifiedAt: number;
  /** The graph's declared inputs and outputs (of the first variant), when the file could be read. */
  readonly signature: {
    readonly inputs: readonly TensorInfo[];
    readonly outputs: readonly TensorInfo[];
    readonly parameterCount?: number;
  } | null;
}

/** A model in the library: what its folder holds, and what the library keeps about it. */
export interface ModelRecord extends FolderInfo, KeptModelState {
  /** The sampling defaults requests fall back on: generation_config.json, overridden by the preset. */
  readonly samplingDefaults: GenerationDefaults;
}

/** The sampling fields a model's generation_config.json may set. */
export interface GenerationDefaults {
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
}

const FILE_PATTERN = /^(model|decoder_model_merged|decoder_model)(?:_([a-z0-9]+))?\.onnx$/;

/**
 * Reads a model folder: `hf-onnx` (config.json and `onnx/*.onnx`) or `onnx` (a folder holding one
 * `.onnx` file). Returns null with a reason when the folder is neither. A graph that cannot be
 * read still yields a record (its load will fail with a clear error), so nothing vanishes silently.
 */
export function inspectModelFolder(dir: string, id: string): { record: FolderInfo } | { reason: string } {
  const configFile = join(dir, 'config.json');
  if (existsSync(configFile) && existsSync(join(dir, 'onnx'))) return inspectHuggingFace(dir, id, configFile);
  const onnxFiles = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.onnx')) : [];
  if (onnxFiles.length === 1 && onnxFiles[0] !== undefined) {
    const file = join(dir, onnxFiles[0]);
    const signature = signatureOf(file);
    return {
      record: {
        id,
        dir,
        format: 'onnx',
        task: 'tensors',
        architecture: null,
        variants: [{ name: 'fp32', file, bytes: fileBytes(file) }],
        contextLength: null,
        hasChatTemplate: false,
        generationDefaults: {},
        chatTemplate: null,
        modifiedAt: statSync(file).mtimeMs,
        signature,
      },
    };
  }
  if (onnxFiles.length > 1)
    return { reason: `holds ${onnxFiles.length} .onnx files; a plain ONNX model folder holds exactly one` };
  return {
    reason: 'is neither a Hugging Face ONNX export (config.json and onnx/) nor a folder with one .onnx file',
  };
}

function inspectHuggingFace(
  dir: string,
  id: string,
  configFile: string,
): { record: FolderInfo } | { reason: string } {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    return { reason: `has a config.json that is not valid JSON (${(error as Error).message})` };
  }
  const variants: ModelVariant[] = [];
  for (const name of readdirSync(join(dir, 'onnx')).sort()) {
    const match = FILE_PATTERN.exec(name);
    if (!match) continue;
    const variant = (match[2] ?? 'fp32') as VariantName;
    if (!VARIANTS.includes(variant) || variants.some((existing) => existing.name === variant)) continue;
    const file = join(dir, 'onnx', name);
    variants.push({ name: variant, file, bytes: fileBytes(file) });
  }
  if (variants.length === 0) return { reason: 'has an onnx/ folder with no model*.onnx file' };
  const architectures = Array.isArray(config.architectures)
    ? config.architectures.filter((item): item is string => typeof item === 'string')
    : [];
  const signature = signatureOf((variants[0] as ModelVariant).file);
  const tokenizerConfig = readJsonOrEmpty(join(dir, 'tokenizer_config.json'));
  return {
    record: {
      id,
      dir,
      format: 'hf-onnx',
      task: taskOf(architectures, signature),
      architecture: architectures[0] ?? (typeof config.model_type === 'string' ? config.model_type : null),
      variants,
      contextLength:
        typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : null,
      hasChatTemplate:
        typeof tokenizerConfig.chat_template === 'string' || Array.isArray(tokenizerConfig.chat_template),
      generationDefaults: generationDefaults(readJsonOrEmpty(join(dir, 'generation_config.json'))),
      chatTemplate: templateSource(tokenizerConfig.chat_template),
      modifiedAt: statSync(configFile).mtimeMs,
      signature,
    },
  };
}

function generationDefaults(config: Record<string, unknown>): GenerationDefaults {
  const number = (key: string) => (typeof config[key] === 'number' ? (config[key] as number) : undefined);
  const defaults: { -readonly [K in keyof GenerationDefaults]: GenerationDefaults[K] } = {};
  // A model that says do_sample: false is meant to be decoded greedily unless asked otherwise.
  if (config.do_sample === false) defaults.temperature = 0;
  else if (number('temperature') !== undefined) defaults.temperature = number('temperature');
  if (number('top_p') !== undefined) defaults.topP = number('top_p');
  if (number('top_k') !== undefined) defaults.topK = number('top_k');
  if (number('min_p') !== undefined) defaults.minP = number('min_p');
  if (number('repetition_penalty') !== undefined) defaults.repetitionPenalty = number('repetition_penalty');
  return defaults;
}

function templateSource(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value as { name?: string; template?: string }[];
    return (named.find((entry) => entry.name === 'default') ?? named[0])?.template ?? null;
  }
  return null;
}

/** The task from the graph's I/O when readable, else from the architecture's name. */
function taskOf(architectures: readonly string[], signature: FolderInfo['signature']): ModelTask {
  if (signature !== null) {
    const outputs = new Set(signature.outputs.map((output) => output.name));
    if (signature.inputs.some((input) => input.name.startsWith('past_key_values.')) && outputs.has('logits'))
      return 'text-generation';
    if (
      outputs.has('last_hidden_state') ||
      outputs.has('sentence_embedding') ||
      outputs.has('token_embeddings')
    )
      return 'embeddings';
    if (outputs.has('logits') && signature.inputs.some((input) => input.name === 'input_ids'))
      return 'text-generation';
  }
  if (architectures.some((name) => /ForCausalLM$|LMHeadModel$/.test(name))) return 'text-generation';
  if (architectures.some((name) => /Model$/.test(name))) return 'embeddings';
  return 'tensors';
}

function signatureOf(file: string): FolderInfo['signature'] {
  try {
    return readOnnxSignature(file);
  } catch {
    return null;
  }
}

/** Every file of a model folder, relative paths, sizes (checksums are the library's to add). */
export function folderFiles(dir: string): { path: string; bytes: number }[] {
  const files: { path: string; bytes: number }[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(dir, relative), { withFileTypes: true })) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push({ path, bytes: statSync(join(dir, path)).size });
    }
  };
  walk('');
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** A file's size plus its external data files (`x.onnx_data`, `x.onnx_data_1`, `x.onnx.data`). */
function fileBytes(file: string): number {
  let bytes = statSync(file).size;
  const dir = join(file, '..');
  const base = file.slice(dir.length + 1);
  for (const name of readdirSync(dir)) {
    if (name !== base && (name.startsWith(`${base}_data`) || name.startsWith(`${base}.data`)))
      bytes += statSync(join(dir, name)).size;
  }
  return bytes;
}

function readJsonOrEmpty(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}
