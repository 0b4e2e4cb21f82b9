// Reading a Hugging Face model folder's JSON files (config, generation config, tokenizer config).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunnerError } from '../runner-error';

/** A parsed JSON object, or an empty one when the file is absent. */
export type JsonObject = Record<string, unknown>;

/** Reads `<dir>/<name>` as a JSON object; absent files read as `{}` unless `required`. */
export function readJson(dir: string, name: string, required = false): JsonObject {
  const path = join(dir, name);
  if (!existsSync(path)) {
    if (required) throw new RunnerError('model_load_failed', `The model folder has no ${name}.`);
    return {};
  }
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error('not a JSON object');
    return value as JsonObject;
  } catch (error) {
    throw new RunnerError(
      'model_load_failed',
      `The model's ${name} is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/** A positive integer field, or undefined. */
export function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** A token id or list of token ids, as configs give `eos_token_id`. */
export function tokenIds(value: unknown): number[] {
  if (typeof value === 'number' && Number.isInteger(value)) return [value];
  if (Array.isArray(value))
    return value.filter((id): id is number => typeof id === 'number' && Number.isInteger(id));
  return [];
}

/** A special token's text from tokenizer_config (a string or an AddedToken object), or null. */
export function specialTokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { content?: unknown }).content === 'string'
  ) {
    return (value as { content: string }).content;
  }
  return null;
}
