import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import type { ChatMessage, GenerateRequest, ToolDefinition } from '../../../../shared/engine';
import type { OllamaDoneFields } from '../../../../shared/ollama-stream';
import type { Engine } from '../../engine/engine';
import { LodgeError } from '../../errors';
import type { GenerationEnd } from '../responder/formatter';
import { startGeneration, type Exchange } from '../responder/generation';
import type { ToolCall } from '../tool-calls';
import { grammarFromOllamaFormat } from '../structured-output';
import { formatOllamaError } from './errors';
import { checkImageCount, imageFromBase64, withImages } from '../image-input';
import { generationOptions, keepAliveMs, modelName, ns } from './options';
import type { ChatSchema, GenerateSchema } from './schemas';

type Shape = 'chat' | 'generate';

/** `POST /api/chat`: NDJSON by default; an empty message list only loads (or with keep_alive 0, unloads). */
export async function chat(
  engine: Engine,
  body: z.output<typeof ChatSchema>,
  exchange: Exchange,
): Promise<unknown> {
  const { name, record, keepAlive } = accept(engine, body);
  if (body.messages.length === 0) return loadOnly(engine, exchange.reply, name, 'chat', keepAlive);
  const tools: ToolDefinition[] | undefined = body.tools?.map((tool) => ({
    type: 'function',
    function: {
      name: tool.function.name,
      ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
      ...(tool.function.parameters !== undefined ? { parameters: tool.function.parameters } : {}),
    },
  }));
  const messages: ChatMessage[] = body.messages.map((message, index) =>
    withImages(messageOf(message), imagesOf(message.images, `messages[${index}].images`)),
  );
  checkImageCount(messages);
  const grammar = grammarFromOllamaFormat(body.format);
  const generate: GenerateRequest = {
    prompt: { kind: 'chat', messages, ...(tools && tools.length > 0 ? { tools } : {}) },
    ...generationOptions(body.options, record.samplingDefaults),
    ...(grammar ? { grammar } : {}),
  };
  return respond(engine, exchange, {
    name,
    generate,
    keepAlive,
    stream: body.stream !== false,
    shape: 'chat',
    offered: new Set((tools ?? []).map((tool) => tool.function.name)),
  });
}

/** One Ollama message as the chat template sees it (its images are added by the caller). */
function messageOf(message: z.output<typeof ChatSchema>['messages'][number]): ChatMessage {
  return {
    role: message.role,
    content: message.content,
    ...(message.tool_calls
      ? {
          tool_calls: message.tool_calls.map((call) => ({
            type: 'function' as const,
            function: { name: call.function.name, arguments: call.function.arguments },
          })),
        }
      : {}),
    ...(message.tool_call_id !== undefined ? { tool_call_id: message.tool_call_id } : {}),
    ...(message.tool_name !== undefined ? { name: message.tool_name } : {}),
  };
}

/** Ollama's base64 images as bytes, each checked; `param` names the field in errors. */
function imagesOf(images: readonly string[] | undefined, param: string): Uint8Array[] {
  return (images ?? []).map((image, index) => imageFromBase64(image, `${param}[${index}]`));
}

/** `POST /api/generate`: the prompt through the chat template (with `system`), or as given with `raw`. */
export async function generate(
  engine: Engine,
  body: z.output<typeof GenerateSchema>,
  exchange: Exchange,
): Promise<unknown> {
  if (body.suffix) throw new LodgeError('invalid_request', 'suffix (fill-in-the-middle) is not supported.');
  const { name, record, keepAlive } = accept(engine, body);
  if (body.prompt === '') return loadOnly(engine, exchange.reply, name, 'generate', keepAlive);
  const useTemplate = body.raw !== true && record.hasChatTemplate;
  const images = imagesOf(body.images, 'images');
  if (images.length > 0 && !useTemplate)
    throw new LodgeError(
      'invalid_request',
      "images go through the model's chat template: leave raw off, and use a model that has one.",
      { param: 'images' },
    );
  const prompt: GenerateRequest['prompt'] = useTemplate
    ? {
        kind: 'chat',
        messages: [
          ...(body.system ? [{ role: 'system' as const, content: body.system }] : []),
          withImages({ role: 'user', content: body.prompt }, images),
        ],
      }
    : {
        kind: 'text',
        text: body.system && body.raw !== true ? `${body.system}\n\n${body.prompt}` : body.prompt,
      };
  const grammar = grammarFromOllamaFormat(body.format);
  const generateRequest: GenerateRequest = {
    prompt,
    ...generationOptions(body.options, record.samplingDefaults),
    ...(grammar ? { grammar } : {}),
  };
  return respond(engine, exchange, {
    name,
    generate: generateRequest,
    keepAlive,
    stream: body.stream !== false,
    shape: 'generate',
    offered: new Set(),
  });
}

/** The checks every Ollama generation passes: a model named, nothing asked that Lodge cannot do. */
function accept(engine: Engine, body: z.output<typeof ChatSchema> | z.output<typeof GenerateSchema>) {
  const name = modelName(body);
  return { name, record: engine.resolve(name).record, keepAlive: keepAliveMs(body.keep_alive) };
}

async function loadOnly(
  engine: Engine,
  reply: FastifyReply,
  name: string,
  shape: Shape,
  keepAlive: number | undefined,
): Promise<unknown> {
  const unload = keepAlive === 0;
  if (unload) await engine.unload(name);
  else await engine.load(name, keepAlive);
  const reason = unload ? 'unload' : 'load';
  return reply.send({
    model: name,
    created_at: new Date().toISOString(),
    ...(shape === 'chat' ? { message: { role: 'assistant', content: '' } } : { response: '' }),
    done: true,
    done_reason: reason,
  });
}

/** What an Ollama generation is answered with: the chat or generate shape, streamed or not. */
interface Respond {
  readonly name: string;
  readonly generate: GenerateRequest;
  readonly keepAlive: number | undefined;
  readonly stream: boolean;
  readonly shape: Shape;
  readonly offered: ReadonlySet<string>;
}

async function respond(engine: Engine, exchange: Exchange, options: Respond): Promise<unknown> {
  const generation = await startGeneration(engine, exchange, {
    model: options.name,
    request: options.generate,
    keepAliveMs: options.keepAlive,
    tools: options.offered,
  });
  const piece = (text: string, calls: readonly ToolCall[] = []) =>
    options.shape === 'chat'
      ? {
          message: {
            role: 'assistant' as const,
            content: text,
            ...(calls.length > 0
              ? {
                  tool_calls: calls.map((call) => ({
                    function: { name: call.name, arguments: call.arguments },
                  })),
                }
              : {}),
          },
        }
      : { response: text };
  const head = () => ({ model: options.name, created_at: new Date().toISOString() });
  const final = (end: GenerationEnd, text: string, calls?: readonly ToolCall[]) => ({
    ...head(),
    ...piece(text, calls),
    done: true,
    ...doneFields(end),
  });
  if (!options.stream) {
    const result = await generation.collect();
    return exchange.reply.send(final(result, result.content, result.calls));
  }
  const line = (value: unknown) => `${JSON.stringify(value)}\n`;
  return generation.pipe({
    contentType: 'application/x-ndjson',
    open: () => '',
    text: (text) => (text !== '' ? line({ ...head(), ...piece(text), done: false }) : ''),
    finish: (end) =>
      (end.content !== '' || end.calls.length > 0
        ? line({ ...head(), ...piece(end.content, end.calls), done: false })
        : '') + line(final(end, '')),
    error: (error) => line(formatOllamaError(error).body),
  });
}

/** The figures on Ollama's last line, every duration in whole nanoseconds. */
function doneFields(end: GenerationEnd): OllamaDoneFields {
  return {
    done_reason: end.finishReason === 'length' ? 'length' : 'stop',
    total_duration: ns(end.totalMs),
    load_duration: ns(end.stats.waitMs ?? 0),
    prompt_eval_count: end.stats.promptTokens,
    prompt_eval_duration: ns(end.stats.prefillMs),
    eval_count: end.stats.completionTokens,
    eval_duration: ns(end.stats.decodeMs),
  };
}
