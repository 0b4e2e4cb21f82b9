import { randomBytes } from 'node:crypto';
import type { GenerateRequest } from '../../../../shared/engine';
import type { ModelRecord } from '../../library/model-folder';
import { LodgeError } from '../../errors';
import { resolveSampling } from '../sampling';
import { templatePrompt } from './messages';
import type { CountTokensRequest, MessagesRequest } from './schemas';

// Anthropic's default temperature.
const DEFAULT_TEMPERATURE = 1;

/** An id in Anthropic's style (`msg_…`, `toolu_…`): a prefix and random characters. */
export function anthropicId(prefix: 'msg' | 'toolu'): string {
  return `${prefix}_01${randomBytes(18).toString('base64url').replaceAll(/[-_]/g, 'x')}`;
}

/** The prompt of a request as the engine takes it: chat messages and tools for the template. */
export function chatPrompt(body: CountTokensRequest): GenerateRequest['prompt'] {
  const { messages, tools } = templatePrompt(body);
  return { kind: 'chat', messages, ...(tools ? { tools } : {}) };
}

/** A `/v1/messages` request as the engine's generation request. */
export function generateRequest(body: MessagesRequest, record: ModelRecord): GenerateRequest {
  refuseForcedToolChoice(body);
  return {
    prompt: chatPrompt(body),
    maxTokens: body.max_tokens,
    stop: (body.stop_sequences ?? []).filter((stop) => stop.length > 0),
    sampling: resolveSampling(
      { temperature: body.temperature, topP: body.top_p, topK: body.top_k },
      record.samplingDefaults,
      DEFAULT_TEMPERATURE,
    ),
  };
}

/** The names of the tools offered to the model, whose calls are parsed out of its text. */
export function offeredToolNames(prompt: GenerateRequest['prompt']): ReadonlySet<string> {
  return new Set(prompt.kind === 'chat' ? (prompt.tools ?? []).map((tool) => tool.function.name) : []);
}

/**
 * `tool_choice` `any` and `tool` promise a call, which only constrained decoding can keep; until
 * the request can carry a grammar, they are refused rather than answered with text the client
 * was told could not come. NOTE: the grammar hook goes here: return a `tool_call` grammar
 * (`mode: 'required'` for `any`, `{name}` for `tool`, `parallel: !disable_parallel_tool_use`)
 * and set it on the GenerateRequest in {@link generateRequest}.
 */
function refuseForcedToolChoice(body: CountTokensRequest): void {
  const choice = body.tool_choice;
  if (choice === undefined || choice.type === 'auto' || choice.type === 'none') return;
  if ((body.tools ?? []).length === 0)
    throw new LodgeError('invalid_request', `tool_choice "${choice.type}" needs tools.`, {
      param: 'tool_choice',
    });
  if (choice.type === 'tool' && !(body.tools ?? []).some((tool) => tool.name === choice.name))
    throw new LodgeError('invalid_request', `tool_choice names "${choice.name}", which is not in tools.`, {
      param: 'tool_choice.name',
    });
  throw new LodgeError(
    'invalid_request',
    `tool_choice "${choice.type}" forces a tool call, which needs constrained decoding that Lodge does not do yet; use "auto".`,
    { param: 'tool_choice' },
  );
}
