import type { z } from 'zod';
import type { ChatMessage, ContentPart } from '../../../../shared/engine';
import type { StoredObject } from '../../db/response-repository';
import { LodgeError } from '../../errors';
import { checkImageCount, imageFromUrl } from '../image-input';
import { responsesId } from './ids';
import {
  FunctionCallItemSchema,
  FunctionCallOutputItemSchema,
  MessageItemSchema,
  type InputItem,
} from './schemas';

const ITEM_SCHEMAS = {
  message: MessageItemSchema,
  function_call: FunctionCallItemSchema,
  function_call_output: FunctionCallOutputItemSchema,
} as const;

/** The item types an input may hold, as error messages list them. */
const KNOWN_TYPES = Object.keys(ITEM_SCHEMAS).join(', ');

/**
 * A request's `input` as items, each checked against its type's schema: a string is one user
 * message. `where` names the field in error messages (`input`, or a stored response's output).
 */
export function parseInput(input: string | readonly StoredObject[], where: string): InputItem[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  return input.map((item, index) => parseItem(item, `${where}[${index}]`));
}

function parseItem(item: StoredObject, where: string): InputItem {
  const type = item.type ?? ('role' in item ? 'message' : undefined);
  if (type === undefined) {
    throw new LodgeError(
      'invalid_request',
      `An input item needs a type (${KNOWN_TYPES}), or a role for a message.`,
      { param: `${where}.type` },
    );
  }
  if (type !== 'message' && type !== 'function_call' && type !== 'function_call_output') {
    throw new LodgeError(
      'invalid_request',
      `Input items of type "${String(type)}" are not supported; Lodge takes ${KNOWN_TYPES}.`,
      { param: `${where}.type` },
    );
  }
  const schema: z.ZodType<InputItem> = ITEM_SCHEMAS[type];
  const parsed = schema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = [where, ...(issue?.path ?? []).map(String)].join('.');
    throw new LodgeError('invalid_request', `Invalid request: ${field}: ${issue?.message ?? 'invalid'}`, {
      param: field,
    });
  }
  return parsed.data;
}

/**
 * Items as they are stored and listed by `GET /v1/responses/{id}/input_items`: each with an id,
 * string content as one text part, a status, as OpenAI lists them.
 */
export function storedItems(items: readonly InputItem[]): StoredObject[] {
  return items.map((item): StoredObject => {
    if (item.type === 'function_call')
      return {
        type: 'function_call',
        id: item.id ?? responsesId('fc'),
        call_id: item.call_id,
        name: item.name,
        arguments: item.arguments,
        status: 'completed',
      };
    if (item.type === 'function_call_output')
      return {
        type: 'function_call_output',
        id: item.id ?? responsesId('fco'),
        call_id: item.call_id,
        output: item.output,
        status: 'completed',
      };
    const partType = item.role === 'assistant' ? 'output_text' : 'input_text';
    return {
      type: 'message',
      id: item.id ?? responsesId('msg'),
      role: item.role,
      content:
        typeof item.content === 'string'
          ? [
              {
                type: partType,
                text: item.content,
                ...(partType === 'output_text' ? { annotations: [] } : {}),
              },
            ]
          : item.content,
      status: 'completed',
    };
  });
}

/** An item and where it came from, for error messages (`input[2]`, `previous_response_id`). */
export interface LocatedItem {
  readonly item: InputItem;
  readonly where: string;
}

/**
 * The conversation as the chat template sees it: `instructions` as the system message, then the
 * items in order, a function call joined to the assistant message before it (the model's text and
 * its calls are one turn), a call's output a `tool` message, a `developer` message a system one.
 * NOTE: many chat templates take one system message, and only first; the instructions and the
 * system and developer messages before the first other turn (Codex sends several) become that one.
 */
export function chatMessages(instructions: string | null, items: readonly LocatedItem[]): ChatMessage[] {
  const messages: ChatMessage[] =
    instructions !== null && instructions !== '' ? [{ role: 'system', content: instructions }] : [];
  for (const { item, where } of items) {
    if (item.type === 'function_call') {
      const call = {
        type: 'function' as const,
        id: item.call_id,
        function: { name: item.name, arguments: parseArguments(item.arguments) },
      };
      const last = messages.at(-1);
      if (last?.role === 'assistant') messages[messages.length - 1] = withCall(last, call);
      else messages.push({ role: 'assistant', content: '', tool_calls: [call] });
    } else if (item.type === 'function_call_output') {
      messages.push({
        role: 'tool',
        tool_call_id: item.call_id,
        content: contentText(item.output, `${where}.output`),
      });
    } else {
      const parts = contentParts(item.content, `${where}.content`);
      messages.push({
        role: item.role === 'developer' ? 'system' : item.role,
        content: contentText(item.content, `${where}.content`),
        ...(parts ? { parts } : {}),
      });
    }
  }
  checkImageCount(messages);
  return withOneSystemMessage(messages);
}

function withOneSystemMessage(messages: ChatMessage[]): ChatMessage[] {
  let leading = 0;
  while (messages[leading]?.role === 'system') leading++;
  if (leading < 2) return messages;
  const system = messages
    .slice(0, leading)
    .map((message) => message.content)
    .join('\n\n');
  return [{ role: 'system', content: system }, ...messages.slice(leading)];
}

type Call = NonNullable<ChatMessage['tool_calls']>[number];

function withCall(message: ChatMessage, call: Call): ChatMessage {
  return { ...message, tool_calls: [...(message.tool_calls ?? []), call] };
}

/** Text content: a string as it is, text parts joined; other parts are refused, naming them. */
function contentText(content: string | readonly StoredObject[], where: string): string {
  if (typeof content === 'string') return content;
  return content
    .map((part, index) => {
      const type = part.type;
      if (
        (type === 'input_text' || type === 'output_text' || type === 'text') &&
        typeof part.text === 'string'
      )
        return part.text;
      if (type === 'refusal' && typeof part.refusal === 'string') return part.refusal;
      if (type === 'input_image') return '';
      throw new LodgeError(
        'invalid_request',
        `Content parts of type "${String(type)}" are not supported; send input_text, output_text and input_image.`,
        { param: `${where}[${index}]` },
      );
    })
    .join('');
}

/** Text and `input_image` parts in order, or undefined when the content has no image. */
function contentParts(content: string | readonly StoredObject[], where: string): ContentPart[] | undefined {
  if (typeof content === 'string' || !content.some((part) => part.type === 'input_image')) return undefined;
  return content.flatMap((part, index): ContentPart[] => {
    const param = `${where}[${index}]`;
    if (part.type !== 'input_image') {
      const text = contentText([part], where);
      return text === '' ? [] : [{ type: 'text', text }];
    }
    if (typeof part.image_url !== 'string')
      throw new LodgeError(
        'invalid_request',
        `${param} needs an image_url (a data URL, data:image/png;base64,…); Lodge keeps no uploaded files.`,
        { param },
      );
    return [{ type: 'image', image: imageFromUrl(part.image_url, `${param}.image_url`) }];
  });
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
