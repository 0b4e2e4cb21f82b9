// onnxruntime's error messages, made fit for a user: its own source paths and C++ signatures out.

/** Absolute or build-tree source locations: `/onnxruntime_src/…/concat.cc:121`. */
const SOURCE_PATH = /(?:[A-Za-z]:)?[\\/]\S*\.(?:cc|cpp|cxx|h|hpp):\d+\s*/g;
/** C++ signatures such as `onnxruntime::ConcatBase::PrepareForCompute(…) const`. */
const SIGNATURE =
  /(?:[\w~<>]+::)+[\w~<>]+(?:\([^()]*(?:\([^()]*\))?[^()]*\))?(?:\s*const)?(?:::<lambda\(\)>)?\s*/g;

/**
 * The first line of an onnxruntime error without its source paths and C++ function signatures:
 * what went wrong, and never a path of the machine onnxruntime was built on.
 */
export function ortErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = (message.split('\n')[0] ?? '').replace(SOURCE_PATH, '').replace(SIGNATURE, '');
  return line.replace(/\s+/g, ' ').trim() || 'onnxruntime failed without saying why';
}
