import { createHash } from 'node:crypto';
import type { RunningModel } from '../../engine/scheduler';
import type { ModelRecord, VariantName } from '../../library/model-record';
import { chooseVariant } from '../../library/variant-choice';

/** A time far in the future: what Ollama reports for a model kept loaded forever. */
const FOREVER = '2318-08-22T00:00:00Z';

/**
 * A parameter count as Ollama's `parameter_size` reads: "238K", "22M", "0.5B", "7.6B"; from a
 * tenth of a billion up in billions with one decimal (as model names say "0.5B"), below that in
 * whole millions or thousands. Empty when the count is not known.
 */
export function parameterSize(count: number | null): string {
  if (count === null || !Number.isFinite(count) || count <= 0) return '';
  const scaled = (value: number, unit: string) => `${Number(value.toFixed(1))}${unit}`;
  if (count >= 1e8) return scaled(count / 1e9, 'B');
  if (count >= 1e6) return `${Math.round(count / 1e6)}M`;
  if (count >= 1e3) return `${Math.round(count / 1e3)}K`;
  return String(Math.round(count));
}

/**
 * The `details` object of a model in `/api/tags`, `/api/ps` and `/api/show`: of the variant that
 * is loaded, where one is (`/api/ps`), else of the one a request would load.
 */
export function details(record: ModelRecord, loaded: VariantName | null = null) {
  const variant = chooseVariant(record, loaded);
  const family = record.architecture?.replace(/(ForCausalLM|LMHeadModel|Model)$/, '').toLowerCase() ?? 'onnx';
  return {
    parent_model: '',
    format: 'onnx',
    family,
    families: [family],
    parameter_size: parameterSize(record.parameterCount),
    quantization_level: variant.name.toUpperCase(),
  };
}

/** A stable identifier of a model's files (a content hash arrives with the library's verification). */
function digest(record: ModelRecord): string {
  const variant = chooseVariant(record, null);
  return createHash('sha256')
    .update(`${record.id}\0${variant.name}\0${variant.bytes}\0${record.modifiedAt}`)
    .digest('hex');
}

/** What `/api/show` says a model can do. */
export function capabilities(record: ModelRecord): string[] {
  if (record.task === 'embeddings') return ['embedding'];
  if (record.task === 'image-text-to-text') return ['completion', 'vision'];
  if (record.task !== 'text-generation') return [];
  return ['completion', ...(record.chatTemplate?.includes('tools') ? ['tools'] : [])];
}

/** A model in `/api/tags`. */
export function tagOf(record: ModelRecord) {
  const name = `${record.id}:latest`;
  return {
    name,
    model: name,
    modified_at: new Date(record.modifiedAt).toISOString(),
    size: chooseVariant(record, null).bytes,
    digest: digest(record),
    details: details(record),
  };
}

/**
 * What `/api/ps` adds for a loaded model. NOTE: sizes are whole bytes: the memory estimate is a
 * product with a factor, and Ollama's Go client refuses a fraction in an integer field.
 */
export function runningFields(running: RunningModel) {
  const size = Math.round(running.estimatedBytes);
  return {
    size,
    size_vram: running.provider === 'cpu' ? 0 : size,
    expires_at: running.expiresAt === null ? FOREVER : new Date(running.expiresAt).toISOString(),
    context_length: Math.round(running.contextLength ?? 0),
  };
}

/** Ollama's names for the blocks a quantization at load makes (llama.cpp's). */
const AT_LOAD_LEVEL = { q8: 'Q8_0', q4: 'Q4_0' } as const;

/** A loaded model in `/api/ps`: its quantization level is what runs, made at load or exported. */
export function psOf(record: ModelRecord, running: RunningModel) {
  const loaded = record.variants.find((variant) => variant.name === running.variant);
  const shown = loaded ? details(record, loaded.name) : details(record);
  return {
    ...tagOf(record),
    details:
      running.quantized === null ? shown : { ...shown, quantization_level: AT_LOAD_LEVEL[running.quantized] },
    ...runningFields(running),
  };
}
