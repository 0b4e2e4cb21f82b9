// How a sentence-transformers export turns token states into one vector: the pooling of its
// Pooling module (`1_Pooling/config.json`) and whether a Normalize module follows (`modules.json`).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJson } from '../model/model-files';
import { RunnerError } from '../runner-error';

/** The poolings Lodge runs, as sentence-transformers names them (`pooling_mode_<name>`). */
export type Pooling = 'mean' | 'cls' | 'lasttoken' | 'max' | 'mean_sqrt_len';

/** The pooling and normalization a model folder asks for. */
export interface EmbeddingRecipe {
  readonly pooling: Pooling;
  /** Whether vectors are L2-normalized unless a request says otherwise. */
  readonly normalize: boolean;
}

const MODES: Readonly<Record<string, Pooling>> = {
  pooling_mode_mean_tokens: 'mean',
  pooling_mode_cls_token: 'cls',
  pooling_mode_lasttoken: 'lasttoken',
  pooling_mode_max_tokens: 'max',
  pooling_mode_mean_sqrt_len_tokens: 'mean_sqrt_len',
};

interface Module {
  readonly type?: unknown;
  readonly path?: unknown;
}

/**
 * Reads `modules.json` and the Pooling module's config in `dir`. A folder without them pools by
 * the mean and normalizes (the common recipe). Several poolings at once (concatenated by
 * sentence-transformers) or weighted-mean pooling are refused with `model_load_failed`.
 */
export function sentenceTransformersRecipe(dir: string): EmbeddingRecipe {
  const modules = readModules(dir);
  const typeOf = (module: Module) => (typeof module.type === 'string' ? module.type : '');
  const poolingModule = modules.find((module) => typeOf(module).endsWith('.Pooling'));
  const poolingDir =
    poolingModule && typeof poolingModule.path === 'string' && poolingModule.path !== ''
      ? join(dir, poolingModule.path)
      : join(dir, '1_Pooling');
  const config = readJson(poolingDir, 'config.json');
  if (config.pooling_mode_weightedmean_tokens === true) {
    throw new RunnerError(
      'model_load_failed',
      'This embedding model asks for weighted-mean pooling (1_Pooling/config.json), which Lodge does not run.',
    );
  }
  const chosen = Object.entries(MODES)
    .filter(([key]) => config[key] === true)
    .map(([, pooling]) => pooling);
  if (chosen.length > 1) {
    throw new RunnerError(
      'model_load_failed',
      `This embedding model asks for several poolings at once (${chosen.join(', ')}), which Lodge does not run.`,
    );
  }
  return {
    pooling: chosen[0] ?? 'mean',
    normalize: modules.length === 0 || modules.some((module) => typeOf(module).endsWith('.Normalize')),
  };
}

/** The entries of `modules.json` (a JSON list), or none when the folder has no such file. */
function readModules(dir: string): Module[] {
  const file = join(dir, 'modules.json');
  if (!existsSync(file)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RunnerError(
      'model_load_failed',
      `The model's modules.json is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (!Array.isArray(parsed))
    throw new RunnerError('model_load_failed', "The model's modules.json is not a list of modules.");
  return parsed.filter((entry): entry is Module => typeof entry === 'object' && entry !== null);
}
