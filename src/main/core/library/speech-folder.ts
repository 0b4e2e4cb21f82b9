import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isExternalDataOf } from './graph-files';
import { VARIANTS, type FolderInfo, type ModelVariant, type VariantName } from './model-record';
import { readOnnxSignature } from './onnx-signature';

/** A speech export's decoder graph: merged (with the KV cache) before the older first-step decoder. */
const DECODER = /^(decoder_model_merged|decoder_model)(?:_([a-z0-9]+))?\.onnx$/;

/**
 * The files of each variant of a speech-to-text export (Whisper, Moonshine: `onnx/encoder_model*.onnx`
 * with `onnx/decoder_model_merged*.onnx`, or `decoder_model*` with `decoder_with_past_model*`),
 * by the dtype suffix of the decoder; the encoder of the same suffix goes with it. `names` are
 * file names inside `onnx/`. Empty when the folder is no such export.
 */
export function speechVariants(
  names: readonly string[],
): Map<VariantName, { decoder: string; companions: string[] }> {
  const have = new Set(names);
  const variants = new Map<VariantName, { decoder: string; companions: string[]; rank: number }>();
  for (const name of names) {
    const match = DECODER.exec(name);
    if (!match) continue;
    const suffix = match[2] === undefined ? '' : `_${match[2]}`;
    const variant = (match[2] ?? 'fp32') as VariantName;
    if (!(VARIANTS as readonly string[]).includes(variant)) continue;
    const encoder = `encoder_model${suffix}.onnx`;
    if (!have.has(encoder)) continue;
    const merged = match[1] === 'decoder_model_merged';
    const withPast = `decoder_with_past_model${suffix}.onnx`;
    const rank = merged ? 0 : 1;
    const current = variants.get(variant);
    if (current !== undefined && current.rank <= rank) continue;
    variants.set(variant, {
      decoder: name,
      companions: [encoder, ...(!merged && have.has(withPast) ? [withPast] : [])],
      rank,
    });
  }
  return new Map(
    [...variants].map(([variant, { decoder, companions }]) => [variant, { decoder, companions }]),
  );
}

/** Whether a Hugging Face config describes a speech-to-text model Lodge knows by name. */
function isSpeechConfig(config: Record<string, unknown>): boolean {
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  return (
    ['whisper', 'lite-whisper', 'moonshine'].includes(String(config.model_type)) ||
    architectures.some(
      (name) =>
        typeof name === 'string' &&
        /SpeechSeq2Seq|ForConditionalGeneration$/.test(name) &&
        /Whisper|Moonshine/.test(name),
    )
  );
}

/**
 * Reads a speech-to-text export (see {@link speechVariants}); null when `dir` is not one, so the
 * folder is read as any other Hugging Face export. A variant loads its decoder file; its bytes
 * count the encoder's too.
 */
export function inspectSpeechFolder(
  dir: string,
  id: string,
  config: Record<string, unknown>,
  configFile: string,
): { record: FolderInfo } | null {
  if (!isSpeechConfig(config)) return null;
  const onnxDir = join(dir, 'onnx');
  const names = readdirSync(onnxDir).sort();
  const found = speechVariants(names);
  if (found.size === 0) return null;
  const variants: ModelVariant[] = [...found].map(([name, { decoder, companions }]) => ({
    name,
    file: join(onnxDir, decoder),
    bytes: [decoder, ...companions].reduce((sum, graph) => sum + graphBytes(onnxDir, graph, names), 0),
  }));
  let signature: FolderInfo['signature'] = null;
  try {
    signature = readOnnxSignature((variants[0] as ModelVariant).file);
  } catch {
    // An unreadable graph still lists the model; its load says what is wrong.
  }
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  const architecture = typeof architectures[0] === 'string' ? architectures[0] : null;
  return {
    record: {
      id,
      dir,
      format: 'hf-onnx',
      task: 'speech-to-text',
      architecture: architecture ?? (typeof config.model_type === 'string' ? config.model_type : null),
      variants,
      contextLength: typeof config.max_target_positions === 'number' ? config.max_target_positions : null,
      hasChatTemplate: false,
      generationDefaults: {},
      chatTemplate: null,
      modifiedAt: statSync(configFile).mtimeMs,
      signature,
    },
  };
}

/** A graph's size plus its external data files. */
function graphBytes(onnxDir: string, graph: string, names: readonly string[]): number {
  let bytes = statSync(join(onnxDir, graph)).size;
  for (const name of names) if (isExternalDataOf(name, graph)) bytes += statSync(join(onnxDir, name)).size;
  return bytes;
}
