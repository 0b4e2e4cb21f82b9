import type { ToolDefinition } from '../../../../shared/engine';
import { LodgeError } from '../../errors';
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

/** What a request's tools and tool_choice come to. */
export interface ToolOffer {
  /** The tools as the response echoes them. */
  readonly echoed: readonly EchoedTool[];
  /** What the chat template is shown; none when tool_choice is "none" or there are no tools. */
  readonly offered: readonly ToolDefinition[] | undefined;
  /** The tool_choice as the response echoes it. */
  readonly choice: 'auto' | 'none';
}

/**
 * Checks `tools` (function tools only; any other type is refused, named) and `tool_choice`.
 * NOTE: a forced choice ("required", or a named function) needs grammar-constrained decoding to
 * keep its promise; until the runner has it, those are refused rather than hoped for.
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
  return { echoed, offered, choice };
}

function toolChoice(body: CreateResponseRequest, tools: readonly EchoedTool[]): 'auto' | 'none' {
  const choice = body.tool_choice ?? 'auto';
  if (choice === 'auto' || choice === 'none') return choice;
  const instead = 'use "auto" and ask for the call in the prompt instead';
  if (choice === 'required') throw constrainedDecodingNeeded('tool_choice', '"required"', instead);
  if (choice.type !== 'function') {
    throw new LodgeError(
      'invalid_request',
      `tool_choice of type "${choice.type}" is not supported; use "auto", "none", "required" or {"type": "function", "name"}.`,
      { param: 'tool_choice' },
    );
  }
  if (!tools.some((tool) => tool.name === choice.name)) {
    throw new LodgeError(
      'invalid_request',
      `tool_choice names the function "${String(choice.name)}", which is not in tools.`,
      { param: 'tool_choice.name' },
    );
  }
  throw constrainedDecodingNeeded(
    'tool_choice',
    `{"type": "function", "name": "${String(choice.name)}"}`,
    instead,
  );
}

/** The refusal of a feature that needs the model's output constrained by a grammar. */
export function constrainedDecodingNeeded(param: string, what: string, instead: string): LodgeError {
  return new LodgeError(
    'invalid_request',
    `${param} ${what} needs constrained decoding, which Lodge does not do yet; ${instead}.`,
    { param },
  );
}
