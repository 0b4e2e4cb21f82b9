import { basename, isAbsolute, relative } from 'node:path';
import type { LoadedInfo } from '../../../shared/runner-protocol';
import { LodgeError } from '../errors';
import type { ModelRecord } from '../library/model-record';

/** The longest reason a client is told; the log keeps the whole message. */
const MAX_REASON_CHARS = 300;

// A source reference onnxruntime puts in its messages: `/onnxruntime_src/onnxruntime/core/graph/graph.cc:1234`
// (or a bare `graph.cc:1234`), often followed by the C++ function it was in.
const SOURCE_REFERENCE =
  /(?:[A-Za-z]:)?(?:[\\/][^\s\\/:"']+)*[\\/]?[\w.+-]+\.(?:cc|cpp|cxx|c|h|hpp|hh|mm?)(?::\d+)+(?:\s+(?:[\w:<>*&]+\s+)?[\w:~<>,*&]+::[\w~<>,*&]+(?:\([^)]*\))?(?:\s+const)?)?/g;
// An absolute path (POSIX, or Windows with a drive letter), up to whitespace or a quote.
const ABSOLUTE_PATH = /(?:(?<![\w.])[A-Za-z]:[\\/]|(?<![\w.:/\\])\/)(?:[^\s"'`,;()[\]{}]+)/g;
// JSON.parse quoting the start of what it read: `Unexpected token 'r', "root:x:0:0:"... is not valid JSON`.
const JSON_EXCERPT =
  /(?:Unexpected (?:token|non-whitespace character|end of JSON input)|Bad control character|Expected [^,]*)[^"]*(?:"(?:[^"\\]|\\.)*"(?:\.\.\.)?\s*)?(?:is not valid JSON)?(?: at position \d+)?(?: \(line \d+ column \d+\))?/g;

/**
 * A load error as a client may see it. The runner's message can carry absolute paths of the data
 * directory, onnxruntime's source references and excerpts of the file it failed to parse; this
 * names files by their path inside the model folder and drops the rest. The full message belongs
 * in the log, not in an answer.
 */
export function sanitizeLoadMessage(message: string, modelDir: string): string {
  const firstLine = message.split('\n')[0] ?? '';
  const cleaned = firstLine
    .replace(SOURCE_REFERENCE, '')
    .replace(JSON_EXCERPT, 'is not valid JSON')
    .replace(ABSOLUTE_PATH, (path) => nameInside(path, modelDir))
    .replace(/\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*/g, '')
    .replace(/\s+([.,:;])/g, '$1')
    .replace(/:(?=\S)/g, ': ')
    .replace(/(?:is not valid JSON[\s:]*){2,}/g, 'is not valid JSON')
    .replace(/\s{2,}/g, ' ')
    .replace(/[\s:,]+$/, '')
    .trim();
  const reason = cleaned === '' ? 'onnxruntime could not open it' : cleaned;
  return reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason;
}

/** A path as its name inside the model folder, or only its file name when it lies outside. */
function nameInside(path: string, modelDir: string): string {
  const trailing = /[.:]+$/.exec(path)?.[0] ?? '';
  const bare = trailing ? path.slice(0, -trailing.length) : path;
  const inside = relative(modelDir, bare);
  const name = inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) ? inside : basename(bare);
  return `${name.replaceAll('\\', '/')}${trailing}`;
}

/**
 * A load failure as clients see it: the model, and the reason without absolute paths, source
 * references or file excerpts (the log has the runner's whole message).
 */
export function loadFailure(record: ModelRecord, error: unknown): LodgeError {
  const reason = sanitizeLoadMessage(error instanceof Error ? error.message : String(error), record.dir);
  const message = reason.startsWith(`${record.id} `) ? reason : `${record.id} could not be loaded: ${reason}`;
  return new LodgeError('model_load_failed', message, {}, { cause: error });
}

/**
 * What a runner reports after a load, safe to show clients (`/app/runners` lists why a provider
 * was skipped): the reasons without paths from onnxruntime's build or the data dir.
 */
export function sanitizeLoaded(info: LoadedInfo, modelDir: string): LoadedInfo {
  return {
    ...info,
    skipped: info.skipped.map((skip) => ({ ...skip, reason: sanitizeLoadMessage(skip.reason, modelDir) })),
  };
}
