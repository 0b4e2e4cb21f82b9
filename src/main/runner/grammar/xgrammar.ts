// Loading XGrammar's WebAssembly build (@mlc-ai/web-xgrammar) into the runner process, on first use.
import { createRequire } from 'node:module';
import type * as XGrammar from '@mlc-ai/web-xgrammar';
import { RunnerError } from '../runner-error';

/** The library's classes, as its UMD bundle puts them on `globalThis.xgrammar`. */
export interface XGrammarModule {
  readonly GrammarCompiler: typeof XGrammar.GrammarCompiler;
  readonly GrammarMatcher: typeof XGrammar.GrammarMatcher;
  readonly TokenizerInfo: typeof XGrammar.TokenizerInfo;
  readonly Grammar: typeof XGrammar.Grammar;
}

const PACKAGE = '@mlc-ai/web-xgrammar';

// NOTE: the library keeps one WebAssembly instance per process itself; this only remembers the
// import so that a runner that never sees a grammar request never pays the ~1 MB load.
let loading: Promise<XGrammarModule> | null = null;

/** XGrammar, loaded on the first call (later calls share the load). */
export function loadXGrammar(): Promise<XGrammarModule> {
  loading ??= importBundle().catch((error: unknown) => {
    loading = null;
    throw new RunnerError(
      'internal',
      `The grammar engine (XGrammar) could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  return loading;
}

async function importBundle(): Promise<XGrammarModule> {
  const existing = Reflect.get(globalThis, 'xgrammar');
  if (isXGrammar(existing)) return existing;
  // NOTE: the bundle is UMD published as "type": "module": under Node its Emscripten loader calls
  // the CommonJS `require` and reads `__filename`, which an ES module scope lacks. Give it both
  // (pointing at the bundle itself) before it is evaluated.
  const require = createRequire(import.meta.url);
  const bundle = require.resolve(PACKAGE);
  if (Reflect.get(globalThis, 'require') === undefined) Reflect.set(globalThis, 'require', require);
  if (Reflect.get(globalThis, '__filename') === undefined) Reflect.set(globalThis, '__filename', bundle);
  await import(PACKAGE);
  const loaded = Reflect.get(globalThis, 'xgrammar');
  if (!isXGrammar(loaded)) throw new Error(`${PACKAGE} did not define globalThis.xgrammar`);
  return loaded;
}

function isXGrammar(value: unknown): value is XGrammarModule {
  return (
    typeof value === 'object' &&
    value !== null &&
    'GrammarCompiler' in value &&
    'GrammarMatcher' in value &&
    'TokenizerInfo' in value &&
    'Grammar' in value
  );
}
