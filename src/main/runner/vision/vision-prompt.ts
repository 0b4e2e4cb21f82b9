// A vision request's prompt: the messages rendered with their content as parts, each `<image>` the
// template writes expanded as the Idefics3 processor expands it, tokenized, and the images made
// ready for the vision encoder.
import type { ChatMessage, GenerateRequest } from '../../../shared/engine';
import { RunnerError } from '../runner-error';
import type { PartsMessage } from '../text/chat-template';
import { imagePrompt, processImage, type ProcessedImage } from './image-processor';
import type { VisionLanguageModel } from './vision-model';

/** The prompt's token ids and its images, in the order their tokens appear. */
export interface VisionPrompt {
  readonly ids: number[];
  readonly images: ProcessedImage[];
}

function partsOf(message: ChatMessage): PartsMessage {
  const parts = message.parts ?? [{ type: 'text' as const, text: message.content }];
  return {
    role: message.role,
    content: parts.map((part) =>
      part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image' },
    ),
  };
}

/** Builds the prompt of `request` for `model` (named `name` in errors). */
export async function visionPrompt(
  model: VisionLanguageModel,
  request: GenerateRequest,
  name: string,
): Promise<VisionPrompt> {
  if (request.prompt.kind !== 'chat') {
    throw new RunnerError(
      'invalid_request',
      `${name} is a vision-language model: send chat messages, not a raw prompt.`,
    );
  }
  if (model.template === null) {
    throw new RunnerError(
      'invalid_request',
      `${name} has no chat template (tokenizer_config.json has no chat_template).`,
    );
  }
  if (request.prompt.tools && request.prompt.tools.length > 0)
    throw new RunnerError('invalid_request', `${name} is a vision-language model and does not take tools.`);
  const bytes = request.prompt.messages.flatMap((message) =>
    (message.parts ?? []).flatMap((part) => (part.type === 'image' ? [part.image] : [])),
  );
  const images: ProcessedImage[] = [];
  for (const [index, image] of bytes.entries()) images.push(await processImage(image, index, model.images));
  const text = model.template.renderParts(request.prompt.messages.map(partsOf));
  const pieces = text.split('<image>');
  if (pieces.length - 1 !== images.length) {
    throw new RunnerError(
      'invalid_request',
      `${name}'s chat template wrote ${pieces.length - 1} image places for the ${images.length} images sent; write "<image>" in no text part.`,
    );
  }
  let expanded = pieces[0] as string;
  images.forEach((image, index) => {
    expanded += imagePrompt(image, model.images.sequenceLength) + (pieces[index + 1] as string);
  });
  // NOTE: as the Idefics3 processor calls its tokenizer: with the tokenizer's own special tokens.
  const ids = model.tokenizer.encode(expanded, true);
  if (ids.length === 0) throw new RunnerError('invalid_request', 'The prompt is empty.');
  const expected = images.reduce((sum, image) => sum + image.tiles.length * model.images.sequenceLength, 0);
  const found = ids.filter((id) => id === model.imageTokenId).length;
  if (found !== expected)
    throw new RunnerError(
      'invalid_request',
      `The prompt holds ${found} image tokens where the images need ${expected}.`,
    );
  return { ids, images };
}
