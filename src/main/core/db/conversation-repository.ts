import type { ChatMessageRecord, Conversation } from '../../../shared/contract/conversations';
import type { Db } from './connection';

interface ConversationRow {
  id: string;
  title: string;
  model: string;
  system_prompt: string;
  params: string;
  created_at: string;
  updated_at: string;
  message_count: number;
}

interface MessageRow {
  role: 'user' | 'assistant';
  content: string;
  model: string | null;
  stats: string | null;
  created_at: string;
  images: string | null;
}

/** The `conversations` and `messages` tables: the chat playground's history. */
export class ConversationRepository {
  readonly #list;
  readonly #get;
  readonly #insert;
  readonly #update;
  readonly #delete;
  readonly #messages;
  readonly #clearMessages;
  readonly #insertMessage;
  readonly #replace;

  constructor(db: Db) {
    const select = `SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count FROM conversations c`;
    this.#list = db.prepare<[number], ConversationRow>(`${select} ORDER BY c.updated_at DESC LIMIT ?`);
    this.#get = db.prepare<[string], ConversationRow>(`${select} WHERE c.id = ?`);
    this.#insert = db.prepare<[string, string, string, string, string, string, string]>(
      'INSERT INTO conversations (id, title, model, system_prompt, params, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#update = db.prepare<[string, string, string, string, string, string]>(
      'UPDATE conversations SET title = ?, model = ?, system_prompt = ?, params = ?, updated_at = ? WHERE id = ?',
    );
    this.#delete = db.prepare<[string]>('DELETE FROM conversations WHERE id = ?');
    this.#messages = db.prepare<[string], MessageRow>(
      'SELECT role, content, model, stats, created_at, images FROM messages WHERE conversation_id = ? ORDER BY position',
    );
    this.#clearMessages = db.prepare<[string]>('DELETE FROM messages WHERE conversation_id = ?');
    this.#insertMessage = db.prepare<
      [string, number, string, string, string | null, string | null, string, string | null]
    >(
      'INSERT INTO messages (conversation_id, position, role, content, model, stats, created_at, images) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#replace = db.transaction((id: string, messages: readonly ChatMessageRecord[], at: string) => {
      this.#clearMessages.run(id);
      messages.forEach((message, position) =>
        this.#insertMessage.run(
          id,
          position,
          message.role,
          message.content,
          message.model,
          message.stats === null ? null : JSON.stringify(message.stats),
          message.createdAt,
          message.images && message.images.length > 0 ? JSON.stringify(message.images) : null,
        ),
      );
      const row = this.#get.get(id);
      if (row) this.#update.run(row.title, row.model, row.system_prompt, row.params, at, id);
    });
  }

  list(limit: number): Conversation[] {
    return this.#list.all(limit).map(toConversation);
  }

  get(id: string): Conversation | null {
    const row = this.#get.get(id);
    return row ? toConversation(row) : null;
  }

  create(conversation: Omit<Conversation, 'messageCount'>): void {
    this.#insert.run(
      conversation.id,
      conversation.title,
      conversation.model,
      conversation.systemPrompt,
      JSON.stringify(conversation.params),
      conversation.createdAt,
      conversation.updatedAt,
    );
  }

  update(conversation: Omit<Conversation, 'messageCount'>): void {
    this.#update.run(
      conversation.title,
      conversation.model,
      conversation.systemPrompt,
      JSON.stringify(conversation.params),
      conversation.updatedAt,
      conversation.id,
    );
  }

  delete(id: string): boolean {
    return this.#delete.run(id).changes > 0;
  }

  messages(id: string): ChatMessageRecord[] {
    return this.#messages.all(id).map((row) => ({
      role: row.role,
      content: row.content,
      model: row.model,
      stats: row.stats === null ? null : (JSON.parse(row.stats) as ChatMessageRecord['stats']),
      createdAt: row.created_at,
      ...(row.images === null ? {} : { images: JSON.parse(row.images) as string[] }),
    }));
  }

  /** Replaces every message of a conversation in one transaction. */
  replaceMessages(id: string, messages: readonly ChatMessageRecord[], at: string): void {
    this.#replace(id, messages, at);
  }
}

function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    title: row.title,
    model: row.model,
    systemPrompt: row.system_prompt,
    params: JSON.parse(row.params) as Conversation['params'],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    messageCount: row.message_count,
  };
}
