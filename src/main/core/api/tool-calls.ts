/** A function call the model asked for, arguments parsed. */
export interface ToolCall {
  readonly name: string;
  readonly arguments: Record<string, unknown>;
}

const OPEN = '<tool_call>';
const CLOSE = '</tool_call>';

/**
 * Splits a model's output into text and tool calls. Understands the `<tool_call>{…}</tool_call>`
 * blocks of Qwen / Hermes templates (an unclosed last block too), and an output that is nothing but
 * a JSON call object or array of them. `{"name", "arguments"|"parameters"}` objects only, and only
 * for functions the request offered, so ordinary JSON answers stay text.
 */
export function parseToolCalls(
  text: string,
  offered: ReadonlySet<string>,
): { content: string; calls: ToolCall[] } {
  const calls: ToolCall[] = [];
  if (text.includes(OPEN)) {
    let content = '';
    let rest = text;
    for (let start = rest.indexOf(OPEN); start !== -1; start = rest.indexOf(OPEN)) {
      content += rest.slice(0, start);
      const bodyStart = start + OPEN.length;
      const end = rest.indexOf(CLOSE, bodyStart);
      const body = rest.slice(bodyStart, end === -1 ? undefined : end);
      const call = toCall(parseJson(body.trim()), offered);
      if (call) calls.push(call);
      else content += rest.slice(start, end === -1 ? undefined : end + CLOSE.length);
      rest = end === -1 ? '' : rest.slice(end + CLOSE.length);
    }
    return { content: (content + rest).trim(), calls };
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const parsed = parseJson(trimmed);
    const candidates = Array.isArray(parsed) ? parsed : [parsed];
    const found = candidates.map((candidate) => toCall(candidate, offered));
    if (found.length > 0 && found.every((call): call is ToolCall => call !== null))
      return { content: '', calls: found };
  }
  return { content: text, calls: [] };
}

/**
 * Decides, while text streams, what may be shown at once: everything before a possible
 * `<tool_call>`, and nothing of an output that starts like a JSON call. The rest waits for the end.
 */
export class ToolCallHoldback {
  #buffer = '';
  #holding = false;
  #decided = false;

  /** Adds streamed text; returns what can be emitted as content now. */
  push(text: string): string {
    if (this.#holding) {
      this.#buffer += text;
      return '';
    }
    const combined = this.#buffer + text;
    if (!this.#decided) {
      const start = combined.trimStart();
      if (start === '') {
        this.#buffer = combined;
        return '';
      }
      this.#decided = true;
      if (start.startsWith('{') || start.startsWith('[')) {
        this.#holding = true;
        this.#buffer = combined;
        return '';
      }
    }
    const open = combined.indexOf(OPEN);
    if (open !== -1) {
      this.#holding = true;
      this.#buffer = combined.slice(open);
      return combined.slice(0, open);
    }
    // Keep back a tail that could be the start of "<tool_call>".
    let keep = 0;
    for (let length = Math.min(OPEN.length - 1, combined.length); length > 0; length--) {
      if (OPEN.startsWith(combined.slice(combined.length - length))) {
        keep = length;
        break;
      }
    }
    this.#buffer = combined.slice(combined.length - keep);
    return combined.slice(0, combined.length - keep);
  }

  /** Everything held back, at the end of generation. */
  finish(): string {
    const held = this.#buffer;
    this.#buffer = '';
    return held;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function toCall(value: unknown, offered: ReadonlySet<string>): ToolCall | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const name = record.name;
  if (typeof name !== 'string' || !offered.has(name)) return null;
  let args = record.arguments ?? record.parameters ?? {};
  if (typeof args === 'string') args = parseJson(args) ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return null;
  return { name, arguments: args as Record<string, unknown> };
}
