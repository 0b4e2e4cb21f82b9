// The grammar of a forced tool call, as an XGrammar structural tag: the Hermes / Qwen syntax that
// the core's tool-call parser reads, `<tool_call>{"name": "…", "arguments": {…}}</tool_call>`.
import type { StructuralTag } from '@mlc-ai/web-xgrammar';
import type { ToolDefinition } from '../../../shared/engine';
import type { JsonSchema } from '../../../shared/grammar';

/** What the tag opens and closes with (`api/tool-calls.ts` in the core parses the same). */
export const TOOL_CALL_OPEN = '<tool_call>';
/** See {@link TOOL_CALL_OPEN}. */
export const TOOL_CALL_CLOSE = '</tool_call>';

/**
 * One tag per function: its begin string fixes the name (so the name is always one the request
 * offered), its content is the grammar of the function's arguments (`argumentGrammars`, EBNF, in
 * the order of `tools`), its end closes the object and the block. Calls are separated by a
 * newline; `parallel: false` stops after the first.
 */
export function toolCallTag(
  tools: readonly ToolDefinition[],
  argumentGrammars: readonly string[],
  parallel: boolean,
): StructuralTag {
  return {
    type: 'structural_tag',
    format: {
      type: 'tags_with_separator',
      separator: '\n',
      at_least_one: true,
      stop_after_first: !parallel,
      tags: tools.map((tool, index) => ({
        type: 'tag',
        begin: `${TOOL_CALL_OPEN}{"name": ${JSON.stringify(tool.function.name)}, "arguments": `,
        content: { type: 'grammar', grammar: argumentGrammars[index] ?? '' },
        end: `}${TOOL_CALL_CLOSE}`,
      })),
    },
  };
}

/** A function's arguments are always an object; no `parameters` means any object. */
export function argumentsSchema(parameters: unknown): Exclude<JsonSchema, boolean> {
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))
    return { type: 'object' };
  return { type: 'object', ...parameters };
}
