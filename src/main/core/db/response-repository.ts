import { z } from 'zod';
import type { Db } from './connection';
import { readJsonColumn, writeJsonColumn } from './json-column';

/** One JSON object as stored: an input item, an output item, or the response itself. */
export type StoredObject = Readonly<Record<string, unknown>>;

/** A response kept for `GET /v1/responses/{id}` and for `previous_response_id` to continue from. */
export interface StoredResponse {
  readonly id: string;
  readonly previousResponseId: string | null;
  readonly model: string;
  /** Unix seconds. */
  readonly createdAt: number;
  /** The request's input items, each with the id the input items list shows. */
  readonly input: readonly StoredObject[];
  /** The response object exactly as the client was answered (its `output` items included). */
  readonly response: StoredObject;
}

interface ResponseRow {
  id: string;
  previous_response_id: string | null;
  model: string;
  created_at: number;
  input: string;
  response: string;
}

const ObjectSchema = z.record(z.string(), z.unknown());
const ItemsSchema = z.array(ObjectSchema);

/** The `responses` table: the OpenAI Responses API's stored responses, so they survive a restart. */
export class ResponseRepository {
  readonly #get;
  readonly #insert;
  readonly #delete;

  constructor(db: Db) {
    this.#get = db.prepare<[string], ResponseRow>('SELECT * FROM responses WHERE id = ?');
    this.#insert = db.prepare<[string, string | null, string, number, string, string]>(
      `INSERT INTO responses (id, previous_response_id, model, created_at, input, response)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM responses WHERE id = ?');
  }

  /** The response with this id, or null when there is none (never stored, or deleted). */
  get(id: string): StoredResponse | null {
    const row = this.#get.get(id);
    if (!row) return null;
    return {
      id: row.id,
      previousResponseId: row.previous_response_id,
      model: row.model,
      createdAt: row.created_at,
      input: readJsonColumn('input', ItemsSchema, row.input),
      response: readJsonColumn('response', ObjectSchema, row.response),
    };
  }

  /** Keeps a finished response. */
  save(response: StoredResponse): void {
    this.#insert.run(
      response.id,
      response.previousResponseId,
      response.model,
      response.createdAt,
      writeJsonColumn(response.input),
      writeJsonColumn(response.response),
    );
  }

  /** Deletes a response; false when there was none. Responses continuing from it are kept. */
  delete(id: string): boolean {
    return this.#delete.run(id).changes > 0;
  }
}
