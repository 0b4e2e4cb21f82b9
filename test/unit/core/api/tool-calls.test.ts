import { describe, expect, it } from 'vitest';
import { parseToolCalls, ToolCallHoldback } from '../../../../src/main/core/api/tool-calls';

const offered = new Set(['get_weather', 'search']);

describe('parseToolCalls', () => {
  it('reads <tool_call> blocks, keeping the text around them', () => {
    expect(
      parseToolCalls(
        'Sure.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Tokyo"}}\n</tool_call>',
        offered,
      ),
    ).toEqual({
      content: 'Sure.',
      calls: [{ name: 'get_weather', arguments: { city: 'Tokyo' } }],
    });
  });
  it('reads several blocks and an unclosed last one', () => {
    const text =
      '<tool_call>{"name":"search","arguments":{"q":"a"}}</tool_call><tool_call>{"name":"get_weather","parameters":{"city":"Oslo"}}';
    expect(parseToolCalls(text, offered).calls).toEqual([
      { name: 'search', arguments: { q: 'a' } },
      { name: 'get_weather', arguments: { city: 'Oslo' } },
    ]);
  });
  it('reads a bare JSON call or array, and arguments given as a JSON string', () => {
    expect(parseToolCalls(' {"name": "search", "arguments": "{\\"q\\": \\"x\\"}"}', offered).calls).toEqual([
      { name: 'search', arguments: { q: 'x' } },
    ]);
    expect(parseToolCalls('[{"name": "search", "arguments": {}}]', offered).calls).toHaveLength(1);
  });
  it('leaves ordinary JSON, unknown functions and broken blocks as text', () => {
    expect(parseToolCalls('{"answer": 42}', offered)).toEqual({ content: '{"answer": 42}', calls: [] });
    expect(parseToolCalls('{"name": "delete_all", "arguments": {}}', offered).calls).toEqual([]);
    expect(parseToolCalls('<tool_call>not json</tool_call> ok', offered)).toEqual({
      content: '<tool_call>not json</tool_call> ok',
      calls: [],
    });
  });
});

describe('ToolCallHoldback', () => {
  it('shows text up to a tool call and holds the call', () => {
    const hold = new ToolCallHoldback();
    expect(hold.push('Let me ')).toBe('Let me ');
    expect(hold.push('check.<tool')).toBe('check.');
    expect(hold.push('_call>{"name"')).toBe('');
    expect(hold.finish()).toBe('<tool_call>{"name"');
  });
  it('releases what only looked like a tag', () => {
    const hold = new ToolCallHoldback();
    expect(hold.push('a <to')).toBe('a ');
    expect(hold.push('day')).toBe('<today');
  });
  it('holds an output that starts as JSON', () => {
    const hold = new ToolCallHoldback();
    expect(hold.push('  {"name": ')).toBe('');
    expect(hold.push('"x"}')).toBe('');
    expect(hold.finish()).toBe('  {"name": "x"}');
  });
});
