// Vision-language exports in the onnx-community layout (SmolVLM, Idefics3): onnx/ holds
// vision_encoder, embed_tokens and decoder_model_merged graphs, each variant by its dtype suffix.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { visionFamilyRefusal } from '../../../shared/vision-families';
import { isExternalDataOf } from './graph-files';
import { VARIANTS, type FolderInfo, type ModelVariant, type VariantName } from './model-record';

const GRAPH = /^(vision_encoder|embed_tokens|decoder_model_merged)(?:_([a-z0-9]+))?\.onnx$/;

function bytesOf(dir: string, names: readonly string[], file: string): number {
  let bytes = statSync(join(dir, file)).size;
  for (const name of names) if (isExternalDataOf(name, file)) bytes += statSync(join(dir, name)).size;
  return bytes;
}

function textConfig(configFile: string): { modelType: string | null; positions: number | null } {
  try {
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    const text = config.text_config as Record<string, unknown> | undefined;
    const positions = text?.max_position_embeddings;
    return {
      modelType: typeof config.model_type === 'string' ? config.model_type : null,
      positions: typeof positions === 'number' ? positions : null,
    };
  } catch {
    return { modelType: null, positions: null };
  }
}

/**
 * The folder read as a vision-language model when its onnx/ folder holds a vision encoder: the
 * task, the variants that have all three graphs (the file is the decoder; the bytes count all
 * three), the context from text_config. A family Lodge does not run, or a folder with no complete
 * variant, gives the reason. Other folders pass through as they were read.
 */
export function withVisionModel(
  result: { record: FolderInfo } | { reason: string },
): { record: FolderInfo } | { reason: string } {
  if (!('record' in result)) return result;
  const { record } = result;
  const onnxDir = join(record.dir, 'onnx');
  const names = existsSync(onnxDir) ? readdirSync(onnxDir).sort() : [];
  if (!names.some((name) => name.startsWith('vision_encoder'))) return result;
  const { modelType, positions } = textConfig(join(record.dir, 'config.json'));
  const refusal = visionFamilyRefusal(modelType);
  if (refusal !== null) return { reason: refusal };
  const bySuffix = new Map<string, Set<string>>();
  for (const name of names) {
    const match = GRAPH.exec(name);
    if (!match) continue;
    const variant = match[2] ?? 'fp32';
    bySuffix.set(variant, (bySuffix.get(variant) ?? new Set()).add(match[1] as string));
  }
  const variants: ModelVariant[] = [];
  for (const [variant, graphs] of bySuffix) {
    if (graphs.size !== 3 || !(VARIANTS as readonly string[]).includes(variant)) continue;
    const suffix = variant === 'fp32' ? '' : `_${variant}`;
    const files = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'].map(
      (stem) => `${stem}${suffix}.onnx`,
    );
    variants.push({
      name: variant as VariantName,
      file: join(onnxDir, `decoder_model_merged${suffix}.onnx`),
      bytes: files.reduce((sum, file) => sum + bytesOf(onnxDir, names, file), 0),
    });
  }
  if (variants.length === 0)
    return {
      reason:
        'is a vision-language export with no variant that has all of vision_encoder, embed_tokens and decoder_model_merged',
    };
  const order = (name: VariantName) => VARIANTS.indexOf(name);
  variants.sort((a, b) => order(a.name) - order(b.name));
  return {
    record: {
      ...record,
      task: 'image-text-to-text',
      variants,
      contextLength: positions ?? record.contextLength,
    },
  };
}

/**
 * The vision encoder and token embedding graphs that go with a vision-language decoder
 * (`onnx/decoder_model_merged_q4.onnx` → `onnx/vision_encoder_q4.onnx`, `onnx/embed_tokens_q4.onnx`)
 * among `files`, so a hub download of one variant brings all three; none for other graphs.
 */
export function visionSiblings<T extends { readonly path: string }>(files: readonly T[], graph: T): T[] {
  const match = /^(.*\/)?decoder_model_merged(_[a-z0-9]+)?\.onnx$/.exec(graph.path);
  if (!match) return [];
  const [, folder = '', suffix = ''] = match;
  const wanted = new Set([`${folder}vision_encoder${suffix}.onnx`, `${folder}embed_tokens${suffix}.onnx`]);
  return files.filter((file) => wanted.has(file.path));
}
