// One model's grammar compiler: XGrammar's TokenizerInfo for its vocabulary, and the grammars
// compiled for it, kept so that a repeated schema costs nothing the second time.
import type { CompiledGrammar, GrammarCompiler } from '@mlc-ai/web-xgrammar';
import { ENFORCED_SUMMARY, unsupportedSchemaPart, type GrammarSpec } from '../../../shared/grammar';
import type { JsonObject } from '../model/model-files';
import { RunnerError } from '../runner-error';
import { normalizeSchema } from './schema-normalize';
import { argumentsSchema, toolCallTag } from './tool-call-format';
import { grammarVocabulary } from './vocabulary';
import { loadXGrammar, type XGrammarModule } from './xgrammar';

/** Compiled grammars kept per model (most recently used first out of the way last). */
const KEPT_GRAMMARS = 32;

/**
 * Output is one line with `, ` and `: ` between items: a model (a random one most of all) cannot
 * spend its tokens on whitespace, and the text reads like Python's `json.dumps`.
 */
const SEPARATORS: [string, string] = [', ', ': '];

/** The grammar engine bound to one model's vocabulary. */
export class ModelGrammars {
  readonly #compiled = new Map<string, CompiledGrammar>();

  private constructor(
    readonly xgrammar: XGrammarModule,
    readonly compiler: GrammarCompiler,
    /** The width of the logits (and of every bitmask): the model's vocabulary, padding included. */
    readonly vocabSize: number,
    /** How strongly each token ends what is open, by {@link closingRanks}. */
    readonly closers: Uint8Array,
  ) {}

  /** Loads XGrammar (on first use) and prepares `tokenizerJson`'s vocabulary for it. */
  static async create(
    tokenizerJson: JsonObject,
    stopIds: ReadonlySet<number>,
    modelVocabSize: number,
  ): Promise<ModelGrammars> {
    const xgrammar = await loadXGrammar();
    const vocab = grammarVocabulary(tokenizerJson, stopIds);
    const vocabSize = Math.max(modelVocabSize, vocab.encoded.length);
    const info = await xgrammar.TokenizerInfo.createTokenizerInfo(
      vocab.encoded,
      vocab.type,
      vocab.prependSpace,
      vocabSize,
      [...stopIds],
    );
    const compiler = await xgrammar.GrammarCompiler.createGrammarCompiler(info);
    return new ModelGrammars(xgrammar, compiler, vocabSize, closingRanks(vocab.encoded, stopIds, vocabSize));
  }

  /**
   * The compiled grammar of `spec`. Refuses what the engine cannot enforce with `invalid_request`,
   * naming the keyword; the result is shared by every request with the same spec.
   */
  async compile(spec: GrammarSpec): Promise<CompiledGrammar> {
    const key = JSON.stringify(spec);
    const kept = this.#compiled.get(key);
    if (kept) {
      this.#compiled.delete(key);
      this.#compiled.set(key, kept);
      return kept;
    }
    const compiled = await this.#compileNew(spec);
    this.#compiled.set(key, compiled);
    if (this.#compiled.size > KEPT_GRAMMARS) {
      const [oldest] = this.#compiled.keys();
      if (oldest !== undefined) {
        this.#compiled.get(oldest)?.dispose();
        this.#compiled.delete(oldest);
      }
    }
    return compiled;
  }

  /** Frees every compiled grammar and the compiler. */
  dispose(): void {
    for (const compiled of this.#compiled.values()) compiled.dispose();
    this.#compiled.clear();
    this.compiler.dispose();
  }

  async #compileNew(spec: GrammarSpec): Promise<CompiledGrammar> {
    if (spec.kind === 'json')
      return this.#guard('response_format', () =>
        this.compiler.compileJSONSchema('{"type": "object"}', false, -1, SEPARATORS, false),
      );
    if (spec.kind === 'json_schema') {
      refuseUnsupported(spec.schema, 'response_format');
      const schema = JSON.stringify(normalizeSchema(spec.schema));
      return this.#guard('response_format', () =>
        this.compiler.compileJSONSchema(schema, false, -1, SEPARATORS, true),
      );
    }
    const { mode } = spec;
    const tools =
      mode === 'required' ? spec.tools : spec.tools.filter((tool) => tool.function.name === mode.name);
    if (tools.length === 0)
      throw new RunnerError(
        'invalid_request',
        mode === 'required'
          ? 'tool_choice "required" needs at least one tool in tools.'
          : `tool_choice names the function "${mode.name}", which is not in tools.`,
      );
    for (const tool of tools) refuseUnsupported(tool.function.parameters ?? {}, 'tools');
    // NOTE: each function's arguments become EBNF through the same JSON-schema converter and
    // compact formatting as response_format (a structural tag's own json_schema content would
    // allow unbounded whitespace).
    const grammars = await Promise.all(
      tools.map((tool) =>
        this.#guard('tools', async () => {
          const schema = JSON.stringify(normalizeSchema(argumentsSchema(tool.function.parameters)));
          const grammar = await this.xgrammar.Grammar.fromJSONSchema(schema, false, -1, SEPARATORS, true);
          const text = grammar.toString();
          grammar.dispose();
          return text;
        }),
      ),
    );
    const tag = toolCallTag(tools, grammars, spec.parallel ?? true);
    return this.#guard('tools', () => this.compiler.compileStructuralTag(tag));
  }

  /**
   * Runs a compile step; the engine aborts (a WebAssembly trap) on what its converters reject,
   * which becomes a clear request error rather than an internal one.
   */
  async #guard<T>(param: string, compile: () => Promise<T>): Promise<T> {
    try {
      return await compile();
    } catch (error) {
      throw new RunnerError(
        'invalid_request',
        `The ${param} schema cannot be turned into a grammar (${error instanceof Error ? error.message.split('.')[0] : 'rejected'}); simplify it.`,
      );
    }
  }
}

/**
 * How strongly each token ends what is open: 4 a stop token (the output ends), 3 a token that
 * starts with `"` (ends a string; where none is open, it opens one that the next `"` ends), 2 one
 * that starts with `}` or `]`, 1 one that starts with `,` (ends a number, moves on to the next
 * required key), 0 the rest. Ranked so that inside a string, where `}` is content, the quote wins,
 * and after a value a closing bracket beats another element. The characters stand for themselves
 * in every vocabulary type (byte-level maps printable ASCII to itself; SentencePiece also has
 * `<0x22>`-style byte tokens).
 */
export function closingRanks(
  encoded: readonly string[],
  stopIds: ReadonlySet<number>,
  vocabSize: number,
): Uint8Array {
  const ranks = new Uint8Array(vocabSize);
  encoded.forEach((token, id) => {
    if (token.startsWith('"') || token === '<0x22>') ranks[id] = 3;
    else if (/^[}\]]/.test(token) || token === '<0x5D>' || token === '<0x7D>') ranks[id] = 2;
    else if (token.startsWith(',') || token === '<0x2C>') ranks[id] = 1;
  });
  for (const id of stopIds) if (id < vocabSize) ranks[id] = 4;
  return ranks;
}

/** Throws `invalid_request` naming the first keyword of `schema` the engine cannot enforce. */
export function refuseUnsupported(schema: unknown, param: string): void {
  const found = unsupportedSchemaPart(schema);
  if (found)
    throw new RunnerError(
      'invalid_request',
      `${param}: ${found.message} (at ${found.path}). ${ENFORCED_SUMMARY}`,
    );
}
