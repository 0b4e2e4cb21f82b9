import { describe, expect, it } from 'vitest';
import {
  grammarForToolChoice,
  grammarFromOllamaFormat,
  grammarFromResponseFormat,
  grammarFromTextFormat,
} from '../../../src/main/core/api/structured-output';
import type { ToolDefinition } from '../../../src/shared/engine';

const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };
const tools: ToolDefinition[] = [
  { type: 'function', function: { name: 'get_weather', parameters: schema } },
  { type: 'function', function: { name: 'get_time' } },
];

describe('structured output requests as grammars', () => {
  it('maps OpenAI response_format', () => {
    expect(grammarFromResponseFormat(undefined)).toBeUndefined();
    expect(grammarFromResponseFormat({ type: 'text' })).toBeUndefined();
    expect(grammarFromResponseFormat({ type: 'json_object' })).toEqual({ kind: 'json' });
    expect(
      grammarFromResponseFormat({ type: 'json_schema', json_schema: { name: 'x', schema, strict: true } }),
    ).toEqual({ kind: 'json_schema', schema, strict: true });
  });

  it('refuses an unsupported keyword with a 400 that names it and the param', () => {
    const format = {
      type: 'json_schema',
      json_schema: { name: 'x', schema: { type: 'number', multipleOf: 5 } },
    };
    expect(() => grammarFromResponseFormat(format)).toThrow(
      expect.objectContaining({
        code: 'invalid_request',
        details: { param: 'response_format' },
        message: expect.stringContaining('"multipleOf"'),
      }),
    );
    expect(() => grammarFromResponseFormat({ type: 'yaml' })).toThrow(
      expect.objectContaining({ code: 'invalid_request', details: { param: 'response_format' } }),
    );
  });

  it('maps the Responses API text.format', () => {
    expect(grammarFromTextFormat({ type: 'json_schema', name: 'x', schema, strict: false })).toEqual({
      kind: 'json_schema',
      schema,
      strict: false,
    });
    expect(grammarFromTextFormat({ type: 'text' })).toBeUndefined();
  });

  it('maps Ollama format', () => {
    expect(grammarFromOllamaFormat('')).toBeUndefined();
    expect(grammarFromOllamaFormat('json')).toEqual({ kind: 'json' });
    expect(grammarFromOllamaFormat(schema)).toEqual({ kind: 'json_schema', schema, strict: true });
    expect(() => grammarFromOllamaFormat('yaml')).toThrow(
      expect.objectContaining({ details: { param: 'format' } }),
    );
    expect(() => grammarFromOllamaFormat({ type: 'string', format: 'iri' })).toThrow(
      expect.objectContaining({ details: { param: 'format' }, message: expect.stringContaining('"format"') }),
    );
  });

  it('forces tool calls for required, a named function, and Anthropic any/tool; not for auto/none', () => {
    expect(grammarForToolChoice(tools, 'auto')).toBeUndefined();
    expect(grammarForToolChoice(tools, 'none')).toBeUndefined();
    expect(grammarForToolChoice(tools, undefined)).toBeUndefined();
    expect(grammarForToolChoice(tools, { type: 'auto' })).toBeUndefined();
    expect(grammarForToolChoice(tools, 'required')).toEqual({
      kind: 'tool_call',
      tools,
      mode: 'required',
      parallel: true,
    });
    expect(grammarForToolChoice(tools, { type: 'any' }, false)).toEqual({
      kind: 'tool_call',
      tools,
      mode: 'required',
      parallel: false,
    });
    expect(grammarForToolChoice(tools, { type: 'function', function: { name: 'get_time' } })).toMatchObject({
      mode: { name: 'get_time' },
    });
    expect(grammarForToolChoice(tools, { type: 'tool', name: 'get_weather' })).toMatchObject({
      mode: { name: 'get_weather' },
    });
  });

  it('refuses a forced call without tools, of an unknown function, or with unsupported parameters', () => {
    expect(() => grammarForToolChoice([], 'required')).toThrow(
      expect.objectContaining({ details: { param: 'tool_choice' } }),
    );
    expect(() => grammarForToolChoice(tools, { type: 'function', function: { name: 'nope' } })).toThrow(
      expect.objectContaining({
        details: { param: 'tool_choice' },
        message: expect.stringContaining('get_weather'),
      }),
    );
    const bad: ToolDefinition[] = [
      { type: 'function', function: { name: 'f', parameters: { type: 'object', not: { required: ['a'] } } } },
    ];
    expect(() => grammarForToolChoice(bad, 'required')).toThrow(
      expect.objectContaining({ details: { param: 'tools' }, message: expect.stringContaining('"not"') }),
    );
  });
});
