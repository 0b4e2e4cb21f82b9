import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ChatMessage, GenerateEvent, GenerateRequest, ToolDefinition } from '../../../../shared/engine';
import type { Engine } from '../../engine/engine';
import { isLodgeError, LodgeError } from '../../errors';
import { clientGone, openStream } from '../streaming';
import { parseToolCalls, ToolCallHoldback, type ToolCall } from '../tool-calls';
import { formatOllamaError } from './errors';
import { generationOptions, keepAliveMs, modelName, ns, refuseUnsupported } from './options';
import type { ChatSchema, GenerateSchema } from './schemas';

type Shape = 'chat' | 'generate';

/** `POST /api/chat`: NDJSON by default; an empty message list only loads (or with keep_alive 0, unloads). */
export async function chat(engine: Engine, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const body = request.body as z.infer<typeof ChatSchema>;
  const name = modelName(body);
  refuseUnsupported(body);
  if (body.messages.some((message) => (message.images?.length ?? 0) > 0))
    refuseUnsupported({ images: ['x'] });
  const { record } = engine.resolve(name);
  if (body.messages.length === 0) return loadOnly(engine, reply, name, 'chat', keepAliveMs(body.keep_alive));
  const tools: ToolDefinition[] | undefined = body.tools?.map((tool) => ({
    type: 'function',
    function: {
      name: tool.function.name,
      ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
      ...(tool.function.parameters !== undefined ? { parameters: tool.function.parameters } : {}),
    },
  }));
  const messages: ChatMessage[] = body.messages.map((message) => ({
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
  }));
  const generate: GenerateRequest = {
    prompt: { kind: 'chat', messages, ...(tools && tools.length > 0 ? { tools } : {}) },
    ...generationOptions(body.options, record.samplingDefaults),
  };
  return respond(engine, request, reply, {
    name,
    generate,
    keepAlive: keepAliveMs(body.keep_alive),
    stream: body.stream !== false,
    shape: 'chat',
    offered: new Set((tools ?? []).map((tool) => tool.function.name)),
  });
}

/** `POST /api/generate`: the prompt through the chat template (with `system`), or as given with `raw`. */
export async function generate(
  engine: Engine,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const body = request.body as z.infer<typeof GenerateSchema>;
  const name = modelName(body);
  refuseUnsupported(body);
  if (body.suffix) throw new LodgeError('invalid_request', 'suffix (fill-in-the-middle) is not supported.');
  const { record } = engine.resolve(name);
  if (body.prompt === '') return loadOnly(engine, reply, name, 'generate', keepAliveMs(body.keep_alive));
  const useTemplate = body.raw !== true && record.hasChatTemplate;
  const prompt: GenerateRequest['prompt'] = useTemplate
    ? {
        kind: 'chat',
        messages: [
          ...(body.system ? [{ role: 'system' as const, content: body.system }] : []),
          { role: 'user', content: body.prompt },
        ],
      }
    : {
        kind: 'text',
        text: body.system && body.raw !== true ? `${body.system}\n\n${body.prompt}` : body.prompt,
      };
  const generateRequest: GenerateRequest = {
    prompt,
    ...generationOptions(body.options, record.samplingDefaults),
  };
  return respond(engine, request, reply, {
    name,
    generate: generateRequest,
    keepAlive: keepAliveMs(body.keep_alive),
    stream: body.stream !== false,
    shape: 'generate',
    offered: new Set(),
  });
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

interface Respond {
  readonly name: string;
  readonly generate: GenerateRequest;
  readonly keepAlive: number | undefined;
  readonly stream: boolean;
  readonly shape: Shape;
  readonly offered: ReadonlySet<string>;
}

async function respond(
  engine: Engine,
  request: FastifyRequest,
  reply: FastifyReply,
  options: Respond,
): Promise<unknown> {
  const started = performance.now();
  const signal = clientGone(request, reply);
  const events = engine.generate(options.name, options.generate, {
    signal,
    ...(options.keepAlive !== undefined ? { keepAliveMs: options.keepAlive } : {}),
  });
  const first = await events.next();
  const piece = (text: string, calls?: readonly ToolCall[]) =>
    options.shape === 'chat'
      ? {
          message: {
            role: 'assistant',
            content: text,
            ...(calls && calls.length > 0
              ? {
                  tool_calls: calls.map((call) => ({
                    function: { name: call.name, arguments: call.arguments },
                  })),
                }
              : {}),
          },
        }
      : { response: text };
  const final = (
    event: Extract<GenerateEvent, { type: 'done' }>,
    text: string,
    calls?: readonly ToolCall[],
  ) => ({
    model: options.name,
    created_at: new Date().toISOString(),
    ...piece(text, calls),
    done: true,
    done_reason: event.finishReason === 'length' ? 'length' : 'stop',
    total_duration: ns(performance.now() - started),
    load_duration: ns(event.stats.waitMs ?? 0),
    prompt_eval_count: event.stats.promptTokens,
    prompt_eval_duration: ns(event.stats.prefillMs),
    eval_count: event.stats.completionTokens,
    eval_duration: ns(event.stats.decodeMs),
  });

  if (!options.stream) {
    let text = '';
    let done: Extract<GenerateEvent, { type: 'done' }> | null = null;
    for (let step = first; !step.done; step = await events.next()) {
      if (step.value.type === 'text') text += step.value.text;
      else done = step.value;
    }
    if (done === null) throw new LodgeError('internal', 'The generation ended without a result.');
    const { content, calls } =
      options.offered.size > 0 ? parseToolCalls(text, options.offered) : { content: text, calls: [] };
    return reply.send(final(done, content, calls));
  }

  const stream = openStream(request, reply, 'application/x-ndjson', signal);
  const line = (value: unknown) => stream.write(`${JSON.stringify(value)}\n`);
  const holdback = options.offered.size > 0 ? new ToolCallHoldback() : null;
  try {
    for (let step = first; !step.done; step = await events.next()) {
      const event = step.value;
      if (event.type === 'text') {
        const visible = holdback ? holdback.push(event.text) : event.text;
        if (visible !== '')
          line({ model: options.name, created_at: new Date().toISOString(), ...piece(visible), done: false });
        continue;
      }
      if (holdback) {
        const { content, calls } = parseToolCalls(holdback.finish(), options.offered);
        if (content !== '' || calls.length > 0)
          line({
            model: options.name,
            created_at: new Date().toISOString(),
            ...piece(content, calls),
            done: false,
          });
      }
      line(final(event, ''));
    }
  } catch (error) {
    request.log.warn({ err: error }, 'ollama stream failed');
    line(
      formatOllamaError(isLodgeError(error) ? error : new LodgeError('internal', 'The generation failed.'))
        .body,
    );
  } finally {
    stream.end();
  }
  return reply;
}
