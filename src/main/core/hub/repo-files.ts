import { LodgeError } from '../errors';
import { unsafeNameReason } from '../library/contained-path';
import { bestGraphs, isExternalDataOf } from '../library/graph-files';
import type { VariantName } from '../library/model-record';
import { visionSiblings } from '../library/vision-folder';
import { speechVariants } from '../library/speech-folder';
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
  'preprocessor_config.json',
  'processor_config.json',
  'README.md',
]);

/** A path's name inside the top `onnx/` folder of a repo, or null when it lies elsewhere. */
function inOnnxFolder(path: string): string | null {
  const name = path.startsWith('onnx/') ? path.slice('onnx/'.length) : null;
  return name !== null && !name.includes('/') ? name : null;
}

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
  const names = [...bestGraphs(paths, inOnnxFolder).keys()];
  if (names.length > 0) return names;
  const plain = paths.filter((path) => !path.includes('/') && path.endsWith('.onnx'));
  return plain.length === 1 ? ['fp32'] : [];
}

/** The ONNX variants of a repo (onnx-community layout, or one .onnx at the top for plain models). */
export function compatibility(files: readonly HubFile[]): RepoCompatibility {
  const byPath = new Map(files.map((file) => [file.path, file]));
  const variants: HubVariant[] = [];
  // A speech export's variant is its decoder and the encoder (and decoder with past) of its suffix.
  const speech = speechVariants(files.flatMap((file) => inOnnxFolder(file.path) ?? []));
  for (const [name, file] of bestGraphs(files, (entry) => inOnnxFolder(entry.path))) {
    const companions = (speech.get(name)?.companions ?? []).flatMap(
      (graph) => byPath.get(`onnx/${graph}`) ?? [],
    );
    const all = [file, ...visionSiblings(files, file), ...companions].flatMap((graph) => [
      graph,
      ...files.filter((other) => isExternalDataOf(other.path, graph.path)),
    ]);
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
    const all = [file, ...files.filter((other) => isExternalDataOf(other.path, file.path))];
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
