import { z } from 'zod';
import type { GenerateRequest } from '../../../../shared/engine';
import type { GrammarSpec } from '../../../../shared/grammar';
import type { ResponseRepository, StoredResponse } from '../../db/response-repository';
import type { Engine } from '../../engine/engine';
import { LodgeError } from '../../errors';
import type { GenerationEnd } from '../responder/formatter';
import { startGeneration, type Exchange } from '../responder/generation';
import { resolveSampling } from '../../model-policy';
import { grammarFromTextFormat } from '../structured-output';
import { responsesId } from './ids';
import { chatMessages, parseInput, storedItems, type LocatedItem } from './input';
import {
  endStatus,
  outputItems,
  responseObject,
  type ResponseEnvelope,
  type ResponseObject,
} from './response-object';
import type { CreateResponseRequest } from './schemas';
import { responseStream } from './stream';
import { toolOffer, type ToolOffer } from './tools';

/** How long a `previous_response_id` chain may be; deeper is surely not a conversation. */
const MAX_CHAIN = 1000;

const StoredItemsSchema = z.array(z.record(z.string(), z.unknown()));

/**
 * `POST /v1/responses`: the conversation so far (the `previous_response_id` chain from SQLite,
 * then this input) through the model's chat template, answered whole or as the Responses event
 * stream, and kept in SQLite unless `store` is false.
 */
export async function createResponse(
  engine: Engine,
  responses: ResponseRepository,
  body: CreateResponseRequest,
  exchange: Exchange,
): Promise<unknown> {
  refuseUnsupported(body);
  const { record } = engine.resolve(body.model);
  const tools = toolOffer(body);
  const input = parseInput(body.input, 'input');
  const previous = body.previous_response_id ?? null;
  const history = previous === null ? [] : conversationBefore(responses, previous);
  const instructions = body.instructions ?? null;
  const messages = chatMessages(instructions, [
    ...history,
    ...input.map((item, index) => ({ item, where: `input[${index}]` })),
  ]);
  const sampling = resolveSampling(
    { temperature: body.temperature ?? undefined, topP: body.top_p ?? undefined },
    record.samplingDefaults,
    1,
  );
  const grammar = outputGrammar(body, tools);
  const request: GenerateRequest = {
    prompt: { kind: 'chat', messages, ...(tools.offered ? { tools: tools.offered } : {}) },
    ...(grammar ? { grammar } : {}),
    ...(body.max_output_tokens != null ? { maxTokens: body.max_output_tokens } : {}),
    stop: [],
    sampling,
  };
  const generation = await startGeneration(engine, exchange, {
    model: body.model,
    request,
    tools: new Set((tools.offered ?? []).map((tool) => tool.function.name)),
  });
  const envelope: ResponseEnvelope = {
    id: responsesId('resp'),
    created_at: Math.floor(Date.now() / 1000),
    model: record.id,
    instructions,
    previous_response_id: previous,
    tools: tools.echoed,
    tool_choice: tools.choice,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    temperature: sampling.temperature,
    top_p: sampling.topP,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    text: { format: body.text?.format ?? { type: 'text' } },
    store: body.store !== false,
    ...(body.user !== undefined ? { user: body.user } : {}),
  };
  // A generation cut short by the client leaving is not kept: no one saw it complete.
  const keep = (response: ResponseObject, end: GenerationEnd) => {
    if (!envelope.store || end.finishReason === 'cancelled') return;
    responses.save({
      id: envelope.id,
      previousResponseId: previous,
      model: record.id,
      createdAt: envelope.created_at,
      input: storedItems(input),
      response,
    });
  };
  if (body.stream === true) return generation.pipe(responseStream(envelope, keep));
  const result = await generation.collect();
  const response = responseObject(envelope, {
    status: endStatus(result),
    output: outputItems(responsesId('msg'), result, result.content, envelope.parallel_tool_calls),
    stats: result.stats,
  });
  keep(response, result);
  return exchange.reply.send(response);
}

/**
 * The items of the conversation that `id` ends, oldest first: each response's input, then its
 * output, back along `previous_response_id`. Instructions are not carried over (OpenAI's rule).
 */
function conversationBefore(responses: ResponseRepository, id: string): LocatedItem[] {
  const turns: StoredResponse[] = [];
  for (let next: string | null = id; next !== null;) {
    const stored = responses.get(next);
    if (stored === null) {
      throw new LodgeError(
        'not_found',
        next === id
          ? `No response with id "${id}" to continue: it was stored with store: false, deleted, or never made.`
          : `The response "${id}" continues "${next}", which was deleted, so its conversation cannot be rebuilt.`,
        { param: 'previous_response_id' },
      );
    }
    turns.unshift(stored);
    if (turns.length > MAX_CHAIN) {
      throw new LodgeError(
        'invalid_request',
        `The previous_response_id chain is longer than ${MAX_CHAIN} responses.`,
        {
          param: 'previous_response_id',
        },
      );
    }
    next = stored.previousResponseId;
  }
  const where = 'previous_response_id';
  return turns.flatMap((turn) => {
    const output = StoredItemsSchema.safeParse(turn.response.output);
    return [...parseInput(turn.input, where), ...parseInput(output.success ? output.data : [], where)].map(
      (item) => ({ item, where }),
    );
  });
}

/**
 * The grammar the output must follow: a forced tool call wins over `text.format` (`json_object`,
 * `json_schema`), as in chat completions; the answer is then the call, not text. The format is
 * checked either way, so a schema that cannot be enforced is a 400 whatever the tool choice.
 */
function outputGrammar(body: CreateResponseRequest, tools: ToolOffer): GrammarSpec | undefined {
  const format = grammarFromTextFormat(body.text?.format);
  return tools.grammar ?? format;
}

function refuseUnsupported(body: CreateResponseRequest): void {
  if (body.background === true) {
    throw new LodgeError(
      'invalid_request',
      'background: true is not supported; Lodge answers while the request is open (use stream: true to see progress).',
      { param: 'background' },
    );
  }
}
