import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { bestGraphs, isExternalDataOf } from './graph-files';
import type { FolderInfo, ModelVariant, VariantName } from './model-record';
import { readOnnxSignature } from './onnx-signature';

/** The folders a Stable Diffusion ONNX export must hold, beside its model_index.json. */
const PARTS = ['text_encoder', 'unet', 'vae_decoder'] as const;

/**
 * Reads a Stable Diffusion ONNX folder (diffusers / optimum layout: model_index.json,
 * text_encoder/, unet/, vae_decoder/, scheduler/, tokenizer/) as a `text-to-image` model. Each
 * UNet graph is a variant, named by the element type of its `sample` input (fp32 or fp16) unless
 * its file says (`model_fp16.onnx`); its size counts the same-named text encoder and decoder too.
 */
export function inspectDiffusionFolder(dir: string, id: string): { record: FolderInfo } | { reason: string } {
  let index: Record<string, unknown>;
  try {
    index = JSON.parse(readFileSync(join(dir, 'model_index.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return { reason: 'has a model_index.json that is not valid JSON' };
  }
  const absent = PARTS.filter((part) => !existsSync(join(dir, part)));
  if (absent.length > 0)
    return {
      reason: `has a model_index.json but no ${absent.join(', ')} folder (a Stable Diffusion ONNX export)`,
    };
  for (const needed of ['scheduler/scheduler_config.json', 'tokenizer']) {
    if (!existsSync(join(dir, needed))) return { reason: `is a Stable Diffusion export without ${needed}` };
  }
  const variants: ModelVariant[] = [];
  let signature: FolderInfo['signature'] = null;
  for (const [named, name] of bestGraphs(readdirSync(join(dir, 'unet')).sort(), (entry) => entry)) {
    const file = join(dir, 'unet', name);
    const graph = signatureOf(file);
    signature ??= graph;
    const sample = graph?.inputs.find((input) => input.name === 'sample');
    const variant: VariantName = named === 'fp32' && sample?.type === 'float16' ? 'fp16' : named;
    if (variants.some((each) => each.name === variant)) continue;
    const siblings = ['text_encoder', 'vae_decoder'].map((part) =>
      existsSync(join(dir, part, name)) ? join(dir, part, name) : join(dir, part, 'model.onnx'),
    );
    const missing = siblings.find((sibling) => !existsSync(sibling));
    if (missing !== undefined)
      return { reason: `has unet/${name} but no ${missing.slice(dir.length + 1)} beside it` };
    variants.push({
      name: variant,
      file,
      bytes: [file, ...siblings].reduce((sum, part) => sum + fileBytes(part), 0),
    });
  }
  if (variants.length === 0) return { reason: 'is a Stable Diffusion export with no unet/model*.onnx file' };
  const className = typeof index._class_name === 'string' ? index._class_name : 'StableDiffusionPipeline';
  return {
    record: {
      id,
      dir,
      format: 'hf-onnx',
      task: 'text-to-image',
      architecture: className,
      variants,
      contextLength: null,
      hasChatTemplate: false,
      generationDefaults: {},
      chatTemplate: null,
      modifiedAt: statSync(join(dir, 'model_index.json')).mtimeMs,
      signature,
    },
  };
}

/** A graph's size plus its external data files beside it. */
function fileBytes(file: string): number {
  const dir = dirname(file);
  const name = basename(file);
  return readdirSync(dir)
    .filter((entry) => entry === name || isExternalDataOf(entry, name))
    .reduce((sum, entry) => sum + statSync(join(dir, entry)).size, 0);
}

function signatureOf(file: string): FolderInfo['signature'] {
  try {
    return readOnnxSignature(file);
  } catch {
    return null;
  }
}
