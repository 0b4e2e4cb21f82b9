// What each API family's structured-output fields ask the runner to constrain the output to: one
// GrammarSpec, or a 400 in the family's shape that names the param and the schema keyword.
import type { ToolDefinition } from '../../../shared/engine';
import {
  ENFORCED_SUMMARY,
  unsupportedSchemaPart,
  type GrammarSpec,
  type JsonSchema,
} from '../../../shared/grammar';
import { LodgeError } from '../errors';

/**
 * OpenAI chat completions' `response_format`: `text` (or absent) asks for nothing,
 * `{type: "json_object"}` for one JSON object, `{type: "json_schema", json_schema: {name, schema,
 * strict}}` for output that validates against `schema`.
 */
export function grammarFromResponseFormat(responseFormat: unknown): GrammarSpec | undefined {
  if (responseFormat === undefined || responseFormat === null) return undefined;
  const format = record(responseFormat, 'response_format');
  if (format.type === 'json_schema') {
    const inner = record(format.json_schema, 'response_format.json_schema');
    return schemaGrammar(inner.schema, inner.strict, 'response_format');
  }
  return typeGrammar(format.type, 'response_format');
}

/**
 * The Responses API's `text.format`: as {@link grammarFromResponseFormat}, with the schema's
 * fields beside `type` (`{type: "json_schema", name, schema, strict}`).
 */
export function grammarFromTextFormat(format: unknown): GrammarSpec | undefined {
  if (format === undefined || format === null) return undefined;
  const fields = record(format, 'text.format');
  if (fields.type === 'json_schema') return schemaGrammar(fields.schema, fields.strict, 'text.format');
  return typeGrammar(fields.type, 'text.format');
}

/** Ollama's `format`: `"json"` for one JSON object, a JSON schema object for output that validates. */
export function grammarFromOllamaFormat(format: unknown): GrammarSpec | undefined {
  if (format === undefined || format === null || format === '') return undefined;
  if (format === 'json') return { kind: 'json' };
  if (typeof format === 'object' && !Array.isArray(format)) return schemaGrammar(format, true, 'format');
  throw new LodgeError('invalid_request', 'format must be "json" or a JSON schema object.', {
    param: 'format',
  });
}

/**
 * A forced tool call: OpenAI's `tool_choice` `"required"` or `{type: "function", function: {name}}`,
 * Anthropic's `{type: "any"}` or `{type: "tool", name}`. `"auto"`, `"none"`, Anthropic's
 * `{type: "auto" | "none"}` and an absent choice force nothing (undefined). `parallel: false`
 * (OpenAI's `parallel_tool_calls`, Anthropic's `disable_parallel_tool_use`) allows one call.
 */
export function grammarForToolChoice(
  tools: readonly ToolDefinition[] | undefined,
  toolChoice: unknown,
  parallel = true,
): GrammarSpec | undefined {
  const mode = forcedMode(toolChoice);
  if (mode === undefined) return undefined;
  const offered = tools ?? [];
  if (offered.length === 0)
    throw new LodgeError('invalid_request', 'tool_choice forces a tool call, but tools is empty.', {
      param: 'tool_choice',
    });
  if (mode !== 'required' && !offered.some((tool) => tool.function.name === mode.name))
    throw new LodgeError(
      'invalid_request',
      `tool_choice names "${mode.name}", which is not in tools (${offered.map((tool) => tool.function.name).join(', ')}).`,
      { param: 'tool_choice' },
    );
  for (const tool of offered) {
    if (tool.function.parameters === undefined) continue;
    refuse(tool.function.parameters, 'tools', `the parameters of ${tool.function.name}`);
  }
  return { kind: 'tool_call', tools: offered, mode, parallel };
}

function forcedMode(choice: unknown): 'required' | { readonly name: string } | undefined {
  if (choice === undefined || choice === null || choice === 'auto' || choice === 'none') return undefined;
  if (choice === 'required' || choice === 'any') return 'required';
  if (typeof choice === 'object' && !Array.isArray(choice)) {
    const fields = Object.fromEntries(Object.entries(choice));
    if (fields.type === 'auto' || fields.type === 'none') return undefined;
    if (fields.type === 'any') return 'required';
    const named = fields.type === 'tool' ? fields.name : record(fields.function, 'tool_choice.function').name;
    if (typeof named === 'string' && named !== '') return { name: named };
  }
  throw new LodgeError(
    'invalid_request',
    'tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name": …}}.',
    { param: 'tool_choice' },
  );
}

function typeGrammar(type: unknown, param: string): GrammarSpec | undefined {
  if (type === 'text') return undefined;
  if (type === 'json_object') return { kind: 'json' };
  throw new LodgeError(
    'invalid_request',
    `${param}.type must be "text", "json_object" or "json_schema", not ${JSON.stringify(type)}.`,
    { param },
  );
}

function schemaGrammar(schema: unknown, strict: unknown, param: string): GrammarSpec {
  // No schema: any JSON object, as json_object asks.
  if (schema === undefined) return { kind: 'json' };
  refuse(schema, param, 'the schema');
  return { kind: 'json_schema', schema: jsonSchema(schema), strict: strict === true };
}

/** Throws `invalid_request` naming the first keyword the grammar engine cannot enforce. */
function refuse(schema: unknown, param: string, what: string): void {
  const found = unsupportedSchemaPart(schema);
  if (found)
    throw new LodgeError(
      'invalid_request',
      `${param}: ${found.message} (in ${what}, at ${found.path}). ${ENFORCED_SUMMARY}`,
      { param },
    );
}

function jsonSchema(value: unknown): JsonSchema {
  if (typeof value === 'boolean') return value;
  return typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value)) : {};
}

function record(value: unknown, param: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new LodgeError('invalid_request', `${param} must be an object.`, { param });
  return Object.fromEntries(Object.entries(value));
}
