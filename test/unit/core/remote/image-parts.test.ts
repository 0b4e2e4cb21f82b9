import { describe, expect, it } from 'vitest';
import { GREEDY, type GenerateRequest } from '../../../../src/shared/engine';
import { openAiBody } from '../../../../src/main/core/remote/openai-translation';

// The eight bytes every PNG starts with, then a few of a body: enough for the upstream to sniff.
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

const withImage: GenerateRequest = {
  prompt: {
    kind: 'chat',
    messages: [
      {
        role: 'user',
        content: 'What is in this picture?',
        parts: [
          { type: 'text', text: 'What is in this picture?' },
          { type: 'image', image: PNG },
        ],
      },
    ],
  },
  stop: [],
  sampling: GREEDY,
};

describe('openAiBody with images', () => {
  it('hands a chat image on to the remote engine rather than dropping it without a word', () => {
    const { body } = openAiBody('gpt-4o', withImage);
    // The image travels as an OpenAI image_url data URL; today only the text is sent, so the
    // remote answers about a picture it never saw.
    expect(JSON.stringify(body)).toContain(`data:image/png;base64,${Buffer.from(PNG).toString('base64')}`);
  });

  it('sends the text and the images as OpenAI content parts in the order they came', () => {
    const { body } = openAiBody('gpt-4o', withImage);
    expect(body).toMatchObject({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            {
              type: 'image_url',
              image_url: { url: `data:image/png;base64,${Buffer.from(PNG).toString('base64')}` },
            },
          ],
        },
      ],
    });
  });

  it('keeps a message without images as plain text content', () => {
    const { body } = openAiBody('gpt-4o', {
      ...withImage,
      prompt: {
        kind: 'chat',
        messages: [{ role: 'user', content: 'Hi', parts: [{ type: 'text', text: 'Hi' }] }],
      },
    });
    expect(body).toMatchObject({ messages: [{ role: 'user', content: 'Hi' }] });
  });
});
