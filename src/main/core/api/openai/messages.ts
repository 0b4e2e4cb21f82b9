import type { ChatMessage, ContentPart, ToolDefinition } from '../../../../shared/engine';
import { LodgeError } from '../../errors';
import { checkImageCount, imageFromUrl } from '../image-input';
import type { ChatCompletionRequest } from './schemas';

type Content = ChatCompletionRequest['messages'][number]['content'];

/** A message's content as text: strings as they are, text parts joined (images left out); other parts are refused. */
export function contentText(content: Content, where: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part, index) => {
      if ((part.type === 'text' || part.type === 'refusal') && typeof part.text === 'string')
        return part.text;
      if (part.type === 'image_url') return '';
      throw new LodgeError(
        'invalid_request',
        `Content parts of type "${part.type}" are not supported; send text and image_url parts.`,
        {
          param: `${where}.content[${index}]`,
        },
      );
    })
    .join('');
}

/** The URL of an `image_url` part: `{image_url: {url}}`, or the bare string some clients send. */
function imageUrlOf(part: Record<string, unknown>, param: string): string {
  const value = part.image_url;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { url?: unknown }).url === 'string')
    return (value as { url: string }).url;
  throw new LodgeError(
    'invalid_request',
    `${param} needs a url (image_url: {url: "data:image/png;base64,…"}).`,
    {
      param,
    },
  );
}

/** A message's text and images in order, or undefined when it has no image part. */
function contentParts(content: Content, where: string): ContentPart[] | undefined {
  if (!Array.isArray(content) || !content.some((part) => part.type === 'image_url')) return undefined;
  return content.flatMap((part, index): ContentPart[] => {
    if (part.type !== 'image_url') {
      const text = contentText([part], where);
      return text === '' ? [] : [{ type: 'text', text }];
    }
    const param = `${where}.content[${index}].image_url`;
    return [{ type: 'image', image: imageFromUrl(imageUrlOf(part, param), param) }];
  });
}

/** OpenAI messages as the chat template sees them (tool-call arguments parsed back into objects). */
export function templateMessages(messages: ChatCompletionRequest['messages']): ChatMessage[] {
  const converted = messages.map((message, index) => {
    const converted: { -readonly [K in keyof ChatMessage]: ChatMessage[K] } = {
      role: message.role,
      content: contentText(message.content, `messages[${index}]`),
    };
    const parts = contentParts(message.content, `messages[${index}]`);
    if (parts !== undefined) converted.parts = parts;
    if (message.name !== undefined) converted.name = message.name;
    if (message.tool_call_id !== undefined) converted.tool_call_id = message.tool_call_id;
    if (message.tool_calls !== undefined) {
      converted.tool_calls = message.tool_calls.map((call) => ({
        type: 'function',
        ...(call.id !== undefined ? { id: call.id } : {}),
        function: { name: call.function.name, arguments: parseArguments(call.function.arguments) },
      }));
    }
    return converted;
  });
  checkImageCount(converted);
  return converted;
}

/** The tools a request offers the template, honouring tool_choice "none" and a named choice. */
export function offeredTools(request: ChatCompletionRequest): ToolDefinition[] | undefined {
  const tools = request.tools ?? [];
  if (tools.length === 0 || request.tool_choice === 'none') return undefined;
  const choice = request.tool_choice;
  const chosen =
    typeof choice === 'object' && choice !== null
      ? tools.filter((tool) => tool.function.name === choice.function.name)
      : tools;
  if (chosen.length === 0)
    throw new LodgeError('invalid_request', 'tool_choice names a function that is not in tools.', {
      param: 'tool_choice',
    });
  return chosen.map((tool) => ({
    type: 'function',
    function: {
      name: tool.function.name,
      ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
      ...(tool.function.parameters !== undefined ? { parameters: tool.function.parameters } : {}),
    },
  }));
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
