import type { ChatMessage, ContentPart, ToolDefinition } from '../../../../shared/engine';
import { LodgeError } from '../../errors';
import { checkImageCount, imageFromBase64, imageFromUrl } from '../image-input';
import type { ContentBlock, CountTokensRequest, MessageParam } from './schemas';

/** The chat messages and tools a request hands the model's chat template. */
export interface TemplatePrompt {
  readonly messages: ChatMessage[];
  /** Absent when no tools are offered (none given, or `tool_choice: none`). */
  readonly tools?: ToolDefinition[];
}

/**
 * An Anthropic prompt as the chat template sees it: `system` first, each user turn's text as a user
 * message and each of its `tool_result` blocks as a tool message (in order), each assistant turn as
 * one assistant message with its `tool_use` blocks as tool calls.
 */
export function templatePrompt(body: CountTokensRequest): TemplatePrompt {
  const messages: ChatMessage[] = [];
  const system = systemText(body.system);
  if (system !== null) messages.push({ role: 'system', content: system });
  body.messages.forEach((message, index) => messages.push(...turnMessages(message, `messages.${index}`)));
  checkImageCount(messages);
  const tools = offeredTools(body);
  return { messages, ...(tools ? { tools } : {}) };
}

function systemText(system: CountTokensRequest['system']): string | null {
  if (system === undefined) return null;
  const text = typeof system === 'string' ? system : system.map((block) => block.text).join('\n');
  return text === '' ? null : text;
}

function turnMessages(message: MessageParam, where: string): ChatMessage[] {
  if (typeof message.content === 'string') return [{ role: message.role, content: message.content }];
  return message.role === 'assistant'
    ? [assistantMessage(message.content, where)]
    : userMessages(message.content, where);
}

function assistantMessage(blocks: readonly ContentBlock[], where: string): ChatMessage {
  let content = '';
  const calls: NonNullable<ChatMessage['tool_calls']>[number][] = [];
  blocks.forEach((block, index) => {
    const at = `${where}.content.${index}`;
    if (block.type === 'text') content += required(block.text, 'text', at);
    else if (block.type === 'tool_use') {
      calls.push({
        type: 'function',
        id: required(block.id, 'id', at),
        function: { name: required(block.name, 'name', at), arguments: block.input ?? {} },
      });
    } else if (block.type !== 'thinking' && block.type !== 'redacted_thinking') {
      // Reasoning blocks are the model's own notes from an earlier turn; the template has no place for them.
      throw unsupported(block.type, at);
    }
  });
  return { role: 'assistant', content, ...(calls.length > 0 ? { tool_calls: calls } : {}) };
}

/** An `image` block's bytes: a base64 source, or a URL source (data URLs only). */
function imageBlock(block: ContentBlock, where: string): Uint8Array {
  const source = block.source as { type?: unknown; data?: unknown; url?: unknown } | undefined;
  if (source?.type === 'base64' && typeof source.data === 'string')
    return imageFromBase64(source.data, `${where}.source.data`);
  if (source?.type === 'url' && typeof source.url === 'string')
    return imageFromUrl(source.url, `${where}.source.url`);
  throw new LodgeError(
    'invalid_request',
    `${where}.source: an image needs a base64 source ({type: "base64", media_type, data}).`,
    { param: `${where}.source` },
  );
}

function userMessages(blocks: readonly ContentBlock[], where: string): ChatMessage[] {
  const messages: ChatMessage[] = [];
  let parts: ContentPart[] = [];
  const flush = () => {
    if (parts.length > 0) {
      const content = parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
      const images = parts.some((part) => part.type === 'image');
      messages.push({ role: 'user', content, ...(images ? { parts } : {}) });
    }
    parts = [];
  };
  blocks.forEach((block, index) => {
    const at = `${where}.content.${index}`;
    if (block.type === 'text') parts.push({ type: 'text', text: required(block.text, 'text', at) });
    else if (block.type === 'image') parts.push({ type: 'image', image: imageBlock(block, at) });
    else if (block.type === 'tool_result') {
      flush();
      const result = resultText(block.content, at);
      messages.push({
        role: 'tool',
        tool_call_id: required(block.tool_use_id, 'tool_use_id', at),
        // The template has no error flag, so the model reads it in the text.
        content: block.is_error === true ? `Error: ${result}` : result,
      });
    } else throw unsupported(block.type, at);
  });
  flush();
  return messages;
}

function resultText(content: ContentBlock['content'], where: string): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .map((block, index) => {
      const at = `${where}.content.${index}`;
      if (block.type !== 'text') throw unsupported(block.type, at);
      return required(block.text, 'text', at);
    })
    .join('\n');
}

/** The tools the template is given: none for `tool_choice: none`. */
function offeredTools(body: CountTokensRequest): ToolDefinition[] | undefined {
  const tools = body.tools ?? [];
  if (tools.length === 0 || body.tool_choice?.type === 'none') return undefined;
  return tools.map((tool, index) => {
    if ((tool.type !== undefined && tool.type !== 'custom') || tool.input_schema === undefined) {
      throw new LodgeError(
        'invalid_request',
        `tools.${index}: only client tools (name, description, input_schema) are supported; Lodge runs no server tools${tool.type ? ` such as "${tool.type}"` : ''}.`,
        { param: `tools.${index}` },
      );
    }
    return {
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description !== undefined ? { description: tool.description } : {}),
        parameters: tool.input_schema,
      },
    };
  });
}

function required<T>(value: T | undefined, field: string, where: string): T {
  if (value === undefined)
    throw new LodgeError('invalid_request', `${where}.${field}: Field required.`, {
      param: `${where}.${field}`,
    });
  return value;
}

function unsupported(type: string, where: string): LodgeError {
  const reason =
    type === 'document'
      ? 'Lodge serves no document models; send text'
      : 'supported blocks are text, image (user), tool_use (assistant) and tool_result (user)';
  return new LodgeError(
    'invalid_request',
    `${where}: content blocks of type "${type}" are not supported: ${reason}.`,
    {
      param: where,
    },
  );
}
