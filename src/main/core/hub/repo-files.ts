import { LodgeError } from '../errors';
import { unsafeNameReason } from '../library/contained-path';
import { VARIANTS, type VariantName } from '../library/model-record';
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
    const all = [file, ...files.filter((other) => isDataOf(other.path, file.path))];
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
    const all = [file, ...files.filter((other) => isDataOf(other.path, file.path))];
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

/**
 * True when `path` is an external-data file of the graph `graph`, beside it in the same folder:
 * `x.onnx_data`, `x.onnx_data_1`, `x.onnx.data`. Nothing below or above it qualifies, so a name
 * like `onnx/model.onnx_data/../../x` is never taken for one.
 */
function isDataOf(path: string, graph: string): boolean {
  if (!path.startsWith(graph)) return false;
  return /^(?:_data(?:_\d+)?|\.data)$/.test(path.slice(graph.length));
}

const SHA256 = /^[0-9a-f]{64}$/;
const GIT_OID = /^[0-9a-f]{40}$/;

/**
 * Refuses a repo whose file list a real hub could not have sent: a name that would leave the
 * download folder (absolute, `..`, backslashes, NUL, empty segments, %-escaped tricks), the same
 * name twice, a size that is not a byte count, or a checksum that is not one. One bad entry
 * refuses the whole download, before anything is written.
 */
export function checkRepoFiles(repo: string, files: readonly HubFile[]): void {
  const seen = new Set<string>();
  for (const file of files) {
    const reason = unsafeNameReason(file.path);
    const problem =
      reason !== null
        ? `names a file that ${reason}`
        : seen.has(file.path)
          ? 'lists the same file twice'
          : !Number.isSafeInteger(file.size) || file.size < 0
            ? 'gives a file a size that is not a byte count'
            : (file.sha256 !== null && !SHA256.test(file.sha256)) ||
                (file.gitOid !== null && !GIT_OID.test(file.gitOid))
              ? 'gives a file a checksum that is not one'
              : null;
    if (problem !== null) {
      throw new LodgeError(
        'forbidden',
        `The hub's file list for ${repo} ${problem}; Lodge refused the whole download and wrote nothing.`,
      );
    }
    seen.add(file.path);
  }
}
