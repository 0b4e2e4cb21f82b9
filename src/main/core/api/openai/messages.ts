import type { ChatMessage, ToolDefinition } from '../../../../shared/engine';
import { LodgeError } from '../../errors';
import type { ChatCompletionRequest } from './schemas';

/** A message's content as text: strings as they are, text parts joined; other parts are refused. */
export function contentText(
  content: ChatCompletionRequest['messages'][number]['content'],
  where: string,
): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part, index) => {
      if ((part.type === 'text' || part.type === 'refusal') && typeof part.text === 'string')
        return part.text;
      throw new LodgeError(
        'invalid_request',
        `Content parts of type "${part.type}" are not supported: this model takes text only.`,
        {
          param: `${where}.content[${index}]`,
        },
      );
    })
    .join('');
}

/** OpenAI messages as the chat template sees them (tool-call arguments parsed back into objects). */
export function templateMessages(messages: ChatCompletionRequest['messages']): ChatMessage[] {
  return messages.map((message, index) => {
    const converted: { -readonly [K in keyof ChatMessage]: ChatMessage[K] } = {
      role: message.role,
      content: contentText(message.content, `messages[${index}]`),
    };
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
