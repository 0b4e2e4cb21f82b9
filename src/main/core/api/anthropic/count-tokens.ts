import { GREEDY } from '../../../../shared/engine';
import type { Engine } from '../../engine/engine';
import { clientGone } from '../streaming';
import type { Exchange } from '../responder/generation';
import { chatPrompt } from './request';
import type { CountTokensRequest } from './schemas';

/**
 * `POST /v1/messages/count_tokens`: the prompt's real size, rendered by the model's chat template
 * and tokenized by its tokenizer in the runner, as a message with the same fields would be.
 */
export async function countTokens(
  engine: Engine,
  body: CountTokensRequest,
  exchange: Exchange,
): Promise<{ input_tokens: number }> {
  const prompt = chatPrompt(body);
  const inputTokens = await engine.countTokens(
    body.model,
    { prompt, stop: [], sampling: GREEDY },
    { signal: clientGone(exchange.request, exchange.reply) },
  );
  return { input_tokens: inputTokens };
}
