import { randomBytes } from 'node:crypto';
import type { GenerateRequest } from '../../../../shared/engine';
import type { ModelRecord } from '../../library/model-record';
import { LodgeError } from '../../errors';
import { resolveSampling } from '../../model-policy';
import { templatePrompt } from './messages';
import type { CountTokensRequest, MessagesRequest } from './schemas';
import { grammarForToolChoice } from '../structured-output';
import type { GrammarSpec } from '../../../../shared/grammar';

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
  const prompt = chatPrompt(body);
  const grammar = forcedToolCall(body, prompt);
  return {
    prompt,
    maxTokens: body.max_tokens,
    stop: (body.stop_sequences ?? []).filter((stop) => stop.length > 0),
    sampling: resolveSampling(
      { temperature: body.temperature, topP: body.top_p, topK: body.top_k },
      record.samplingDefaults,
      DEFAULT_TEMPERATURE,
    ),
    ...(grammar ? { grammar } : {}),
  };
}

/** The names of the tools offered to the model, whose calls are parsed out of its text. */
export function offeredToolNames(prompt: GenerateRequest['prompt']): ReadonlySet<string> {
  return new Set(prompt.kind === 'chat' ? (prompt.tools ?? []).map((tool) => tool.function.name) : []);
}

/**
 * `tool_choice` `any` and `tool` promise a call: the grammar forces one (any offered tool, or the
 * named one), its arguments valid against the tool's `input_schema`; one call only when
 * `disable_parallel_tool_use` is set. `auto`, `none` and no choice force nothing.
 */
function forcedToolCall(body: MessagesRequest, prompt: GenerateRequest['prompt']): GrammarSpec | undefined {
  const choice = body.tool_choice;
  if (choice === undefined || choice.type === 'auto' || choice.type === 'none') return undefined;
  const tools = prompt.kind === 'chat' ? prompt.tools : undefined;
  if ((tools ?? []).length === 0)
    throw new LodgeError('invalid_request', `tool_choice "${choice.type}" needs tools.`, {
      param: 'tool_choice',
    });
  return grammarForToolChoice(tools, choice, choice.disable_parallel_tool_use !== true);
}
