import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { ConversationParamsSchema } from '../../../../shared/contract/conversations';
import type { ConversationRepository } from '../../db/conversation-repository';
import { LodgeError } from '../../errors';
import { contractRoute } from '../contract-route';

/** The chat playground's conversations: persisted, listed newest first, edited as a whole. */
export function registerConversationRoutes(
  app: FastifyInstance,
  conversations: ConversationRepository,
): void {
  const load = ({ id }: z.output<typeof ConversationParamsSchema>) => {
    const conversation = conversations.get(id);
    if (!conversation) throw new LodgeError('not_found', `There is no conversation ${id}.`);
    return conversation;
  };
  const detail = (id: string) => {
    const conversation = conversations.get(id);
    if (!conversation) throw new LodgeError('not_found', `There is no conversation ${id}.`);
    return { ...conversation, messages: conversations.messages(id) };
  };

  contractRoute(app, 'conversations', () => ({ conversations: conversations.list(200) }));
  contractRoute(app, 'createConversation', ({ body }) => {
    const input = body;
    const now = new Date().toISOString();
    const id = randomUUID();
    conversations.create({
      id,
      title: input.title ?? 'New chat',
      model: input.model,
      systemPrompt: input.systemPrompt ?? '',
      params: input.params ?? {},
      createdAt: now,
      updatedAt: now,
    });
    return detail(id);
  });
  contractRoute(app, 'conversation', ({ params }) => detail(load(params).id));
  contractRoute(app, 'updateConversation', ({ params, body }) => {
    const current = load(params);
    const patch = body;
    conversations.update({ ...current, ...patch, updatedAt: new Date().toISOString() });
    return detail(current.id);
  });
  contractRoute(app, 'replaceMessages', ({ params, body }) => {
    const current = load(params);
    const { messages } = body;
    const now = new Date().toISOString();
    conversations.replaceMessages(
      current.id,
      messages.map((message) => ({ ...message, createdAt: message.createdAt ?? now })),
      now,
    );
    // A new chat is titled after its first question.
    const first = messages.find((message) => message.role === 'user');
    if (current.title === 'New chat' && first)
      conversations.update({
        ...current,
        title: first.content.replace(/\s+/g, ' ').trim().slice(0, 60) || 'New chat',
        updatedAt: now,
      });
    return detail(current.id);
  });
  contractRoute(app, 'deleteConversation', ({ params }) => ({
    deleted: conversations.delete(load(params).id),
  }));
}
