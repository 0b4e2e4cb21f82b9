import type { ToolDefinition } from '../../../../shared/engine';
import type { GrammarSpec } from '../../../../shared/grammar';
import { LodgeError } from '../../errors';
import { grammarForToolChoice } from '../structured-output';
import type { CreateResponseRequest } from './schemas';

const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** A function tool as a response echoes it back (every field OpenAI's Response.tools has). */
export type EchoedTool = {
  readonly type: 'function';
  readonly name: string;
  readonly description: string | null;
  readonly parameters: Readonly<Record<string, unknown>> | null;
  readonly strict: boolean;
};

/** tool_choice as a response echoes it. */
export type EchoedToolChoice =
  'auto' | 'none' | 'required' | { readonly type: 'function'; readonly name: string };

/** What a request's tools and tool_choice come to. */
export interface ToolOffer {
  /** The tools as the response echoes them. */
  readonly echoed: readonly EchoedTool[];
  /** What the chat template is shown; none when tool_choice is "none" or there are no tools. */
  readonly offered: readonly ToolDefinition[] | undefined;
  /** The tool_choice as the response echoes it. */
  readonly choice: EchoedToolChoice;
  /**
   * The grammar that forces a call, for "required" or a named function: the output can then only
   * be calls whose arguments validate against the function's `parameters`.
   */
  readonly grammar: GrammarSpec | undefined;
}

/**
 * Checks `tools` (function tools only; any other type is refused, named) and `tool_choice`. A
 * forced choice is kept by grammar-constrained decoding, never by hoping the model obliges.
 */
export function toolOffer(body: CreateResponseRequest): ToolOffer {
  const echoed = (body.tools ?? []).map((tool, index): EchoedTool => {
    if (tool.type !== 'function') {
      throw new LodgeError(
        'invalid_request',
        `Tools of type "${tool.type}" are not supported: Lodge runs the model only, so it offers function tools ({"type": "function", "name", "parameters"}) and your code runs them.`,
        { param: `tools[${index}].type` },
      );
    }
    if (tool.name === undefined || !FUNCTION_NAME.test(tool.name)) {
      throw new LodgeError(
        'invalid_request',
        'A function tool needs a name of 1 to 64 letters, digits, underscores or dashes.',
        { param: `tools[${index}].name` },
      );
    }
    return {
      type: 'function',
      name: tool.name,
      description: tool.description ?? null,
      parameters: tool.parameters ?? null,
      strict: tool.strict ?? true,
    };
  });
  const choice = toolChoice(body, echoed);
  const offered =
    choice === 'none' || echoed.length === 0
      ? undefined
      : echoed.map((tool): ToolDefinition => ({
          type: 'function',
          function: {
            name: tool.name,
            ...(tool.description !== null ? { description: tool.description } : {}),
            ...(tool.parameters !== null ? { parameters: tool.parameters } : {}),
          },
        }));
  const forced = typeof choice === 'object' ? { type: 'function', function: { name: choice.name } } : choice;
  return {
    echoed,
    offered,
    choice,
    grammar: grammarForToolChoice(offered, forced, body.parallel_tool_calls ?? true),
  };
}

function toolChoice(body: CreateResponseRequest, tools: readonly EchoedTool[]): EchoedToolChoice {
  const choice = body.tool_choice ?? 'auto';
  if (typeof choice === 'string') return choice;
  if (choice.type !== 'function') {
    throw new LodgeError(
      'invalid_request',
      `tool_choice of type "${choice.type}" is not supported; use "auto", "none", "required" or {"type": "function", "name"}.`,
      { param: 'tool_choice' },
    );
  }
  const name = choice.name;
  if (name === undefined || !tools.some((tool) => tool.name === name)) {
    throw new LodgeError(
      'invalid_request',
      `tool_choice names the function "${String(name)}", which is not in tools (${tools.map((tool) => tool.name).join(', ') || 'none'}).`,
      { param: 'tool_choice.name' },
    );
  }
  return { type: 'function', name };
}
