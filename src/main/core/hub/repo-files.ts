import { VARIANTS, type VariantName } from '../library/model-folder';
import type { HubFile } from './hub-client';

/** Files a model needs besides its weights: configs, tokenizer, chat template, pooling. */
const SUPPORT_FILES = new Set([
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'vocab.txt',
  'merges.txt',
  'tokenizer.model',
  'chat_template.jinja',
  'chat_template.json',
  'modules.json',
  'sentence_bert_config.json',
  '1_Pooling/config.json',
  'README.md',
]);

const GRAPH = /^onnx\/(model|decoder_model_merged)(?:_([a-z0-9]+))?\.onnx$/;

/** One downloadable variant: its graph, its external data, and the bytes they take. */
export interface HubVariant {
  readonly name: VariantName;
  readonly files: readonly HubFile[];
  readonly bytes: number;
}

/** What a repo offers Lodge. */
export interface RepoCompatibility {
  readonly format: 'hf-onnx' | 'onnx' | null;
  readonly variants: readonly HubVariant[];
  readonly hasTokenizer: boolean;
  readonly hasConfig: boolean;
  /** Why Lodge cannot run it, when it cannot. */
  readonly problem: string | null;
}

/**
 * The variant names a repo offers, from its file names alone (what a hub search lists), by the
 * same rules as {@link compatibility}.
 */
export function offeredVariants(paths: readonly string[]): VariantName[] {
  const names = new Set<VariantName>();
  for (const path of paths) {
    const match = GRAPH.exec(path);
    const name = match ? (match[2] ?? 'fp32') : null;
    if (name !== null && (VARIANTS as readonly string[]).includes(name)) names.add(name as VariantName);
  }
  if (names.size > 0) return [...names];
  const plain = paths.filter((path) => !path.includes('/') && path.endsWith('.onnx'));
  return plain.length === 1 ? ['fp32'] : [];
}

/** The ONNX variants of a repo (onnx-community layout, or one .onnx at the top for plain models). */
export function compatibility(files: readonly HubFile[]): RepoCompatibility {
  const byPath = new Map(files.map((file) => [file.path, file]));
  const variants: HubVariant[] = [];
  for (const file of files) {
    const match = GRAPH.exec(file.path);
    if (!match) continue;
    const name = (match[2] ?? 'fp32') as VariantName;
    if (!VARIANTS.includes(name) || variants.some((variant) => variant.name === name)) continue;
    const data = files.filter(
      (other) =>
        other.path !== file.path &&
        (other.path.startsWith(`${file.path}_data`) || other.path.startsWith(`${file.path}.data`)),
    );
    const all = [file, ...data];
    variants.push({ name, files: all, bytes: all.reduce((sum, entry) => sum + entry.size, 0) });
  }
  const hasConfig = byPath.has('config.json');
  const hasTokenizer = byPath.has('tokenizer.json');
  if (variants.length > 0) {
    const problem = hasConfig ? null : 'it has ONNX weights but no config.json';
    return { format: 'hf-onnx', variants, hasTokenizer, hasConfig, problem };
  }
  const plain = files.filter((file) => !file.path.includes('/') && file.path.endsWith('.onnx'));
  if (plain.length === 1 && plain[0]) {
    const file = plain[0];
    const data = files.filter(
      (other) => other.path.startsWith(`${file.path}_data`) || other.path.startsWith(`${file.path}.data`),
    );
    const all = [file, ...data];
    return {
      format: 'onnx',
      variants: [{ name: 'fp32', files: all, bytes: all.reduce((sum, entry) => sum + entry.size, 0) }],
      hasTokenizer,
      hasConfig,
      problem: null,
    };
  }
  return {
    format: null,
    variants: [],
    hasTokenizer,
    hasConfig,
    problem: 'it has no ONNX weights (no onnx/model*.onnx)',
  };
}

/** The files to download for `variant`: its graph and data files, and the support files the repo has. */
export function filesFor(files: readonly HubFile[], variant: HubVariant): HubFile[] {
  return [...files.filter((file) => SUPPORT_FILES.has(file.path)), ...variant.files];
}
