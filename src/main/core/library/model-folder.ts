import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelTask } from '../../../shared/engine';
import { isInside } from './contained-path';
import { inspectDiffusionFolder } from './diffusion-folder';
import { bestGraphs, isExternalDataOf } from './graph-files';
import type { FolderInfo, GenerationDefaults, ModelVariant, VariantName } from './model-record';
import { readOnnxSignature } from './onnx-signature';
import { withVisionModel } from './vision-folder';
import { inspectSpeechFolder } from './speech-folder';
import { promptTemplateToJinja, readPromptTemplate } from '../../../shared/prompt-template';

/**
 * Reads a model folder: `hf-onnx` (config.json and `onnx/*.onnx`) or `onnx` (a folder holding one
 * `.onnx` file). Returns null with a reason when the folder is neither. A graph that cannot be
 * read still yields a record (its load will fail with a clear error), so nothing vanishes silently.
 */
export function inspectModelFolder(dir: string, id: string): { record: FolderInfo } | { reason: string } {
  const unsafe = unsafeEntry(dir);
  if (unsafe !== null) return { reason: unsafe };
  if (existsSync(join(dir, 'model_index.json'))) return inspectDiffusionFolder(dir, id);
  const configFile = join(dir, 'config.json');
  if (existsSync(configFile) && existsSync(join(dir, 'onnx')))
    return withVisionModel(inspectHuggingFace(dir, id, configFile));
  const genaiFile = join(dir, 'genai_config.json');
  if (existsSync(genaiFile)) return inspectGenai(dir, id, genaiFile);
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
  } catch {
    // The parser's message quotes the file; the reason never does (it may not be what it seems).
    return { reason: `has a config.json that is not valid JSON` };
  }
  const speech = inspectSpeechFolder(dir, id, config, configFile);
  if (speech !== null) return speech;
  const variants: ModelVariant[] = [];
  for (const [variant, name] of bestGraphs(readdirSync(join(dir, 'onnx')).sort(), (name) => name)) {
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

/**
 * An onnxruntime-genai / Foundry Local folder: genai_config.json names the decoder's ONNX file,
 * its context and its search defaults; the chat template is inference_model.json's PromptTemplate
 * (what Foundry renders) or tokenizer_config.json's. Read as a Hugging Face text model.
 */
function inspectGenai(
  dir: string,
  id: string,
  genaiFile: string,
): { record: FolderInfo } | { reason: string } {
  let genai: Record<string, unknown>;
  try {
    genai = JSON.parse(readFileSync(genaiFile, 'utf8')) as Record<string, unknown>;
  } catch {
    return { reason: 'has a genai_config.json that is not valid JSON' };
  }
  const field = (value: unknown): Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  const model = field(genai.model);
  const search = field(genai.search);
  const filename = field(model.decoder).filename;
  if (typeof filename !== 'string' || !filename.endsWith('.onnx'))
    return { reason: 'has a genai_config.json that names no decoder model file (model.decoder.filename)' };
  const file = join(dir, filename);
  if (!isInside(dir, file) || !existsSync(file))
    return { reason: `has a genai_config.json naming ${filename}, which the folder does not hold` };
  const foundry = readPromptTemplate(readJsonOrEmpty(join(dir, 'inference_model.json')).PromptTemplate);
  const tokenizerConfig = readJsonOrEmpty(join(dir, 'tokenizer_config.json'));
  const template =
    foundry !== null ? promptTemplateToJinja(foundry) : templateSource(tokenizerConfig.chat_template);
  const lengths = [model.context_length, search.max_length].filter(
    (value): value is number => typeof value === 'number' && value > 0,
  );
  return {
    record: {
      id,
      dir,
      format: 'hf-onnx',
      task: 'text-generation',
      architecture: typeof model.type === 'string' ? model.type : null,
      variants: [{ name: genaiVariant(filename), file, bytes: fileBytes(file) }],
      contextLength: lengths.length > 0 ? Math.min(...lengths) : null,
      hasChatTemplate: template !== null,
      generationDefaults: generationDefaults(search),
      chatTemplate: template,
      modifiedAt: statSync(genaiFile).mtimeMs,
      signature: signatureOf(file),
    },
  };
}

/** The variant a genai file name suggests (`…-int4-…`, `…fp16…`); genai folders hold one. */
function genaiVariant(filename: string): VariantName {
  if (/int4|q4/i.test(filename)) return 'q4';
  if (/fp16/i.test(filename)) return 'fp16';
  if (/int8/i.test(filename)) return 'int8';
  return 'fp32';
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

/** The most entries a model folder may hold (an export has a few dozen), so a walk stays short. */
const MAX_ENTRIES = 10_000;
/** The deepest a model folder may nest folders. */
const MAX_DEPTH = 8;

/**
 * Why a model folder cannot be read safely, or null: it must be a folder, and hold only folders,
 * regular files and symlinks that stay inside it. A symlink out (`tokenizer.json` to
 * `/etc/passwd`) is refused, never followed, and so is a FIFO or device that would block or
 * stream forever when read. The reason names the entry by its place inside the folder only.
 */
export function unsafeEntry(dir: string): string | null {
  let root: string;
  try {
    root = realpathSync(dir);
    if (!statSync(root).isDirectory()) return 'is not a folder';
  } catch {
    return 'cannot be read';
  }
  let seen = 0;
  const walk = (relative: string, depth: number): string | null => {
    if (depth > MAX_DEPTH) return `nests folders more than ${MAX_DEPTH} deep`;
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      if (++seen > MAX_ENTRIES) return `holds more than ${MAX_ENTRIES} files and folders`;
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        const inner = walk(path, depth + 1);
        if (inner !== null) return inner;
      } else if (entry.isSymbolicLink()) {
        let target: string;
        try {
          target = realpathSync(join(root, path));
        } catch {
          return `has ${path}, a link to nothing`;
        }
        if (!isInside(root, target)) return `has ${path}, a link that leads outside the model folder`;
        if (!lstatSync(target).isFile() && !lstatSync(target).isDirectory())
          return `has ${path}, which is not a regular file`;
      } else if (!entry.isFile()) return `has ${path}, which is not a regular file`;
    }
    return null;
  };
  try {
    return walk('', 0);
  } catch {
    return 'cannot be read';
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
    if (isExternalDataOf(name, base)) bytes += statSync(join(dir, name)).size;
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
