/**
 * Batch publishing (a Herald extension of Mercure's "Publication"): many updates in one request.
 *
 *   POST /.well-known/mercure
 *   Content-Type: application/json
 *
 *   [{"topic": "https://example.com/a", "data": "..."}, {"topic": ["…", "…"], "id": "x", "private": true}]
 *
 * Each item holds the fields of a form publish under the same names (`topic` a string or an array,
 * `data`, `id`, `type`, `retry`, `private` as a boolean, `herald.key`), and gets the same checks
 * with the same status and error code; the refusal names the item (`update 3 of the batch: ...`
 * and a `Herald-Batch-Index: 3` header). The whole batch is checked before anything is stored, so
 * a refused batch stores nothing. The answer is `200 application/json`: the IDs, in order.
 *
 * JSON because one native `JSON.parse` reads the whole batch, cheaper than a form per update, and
 * every language writes it; an array because the answer pairs with it by position. A Mercure hub
 * refuses the JSON content type (415), so a batch sent to a hub without the extension fails loudly.
 */
import { canPublish, type SelectorSet } from '../topics/index.js';
import type { Update } from '../update.js';
import { parseBatchJson } from './batch-json.js';
import { badRequest, HubHttpError, insufficientScope } from './errors.js';
import { KEY_FIELD, type PublishInput, toUpdate } from './publish-input.js';

/** The media type of a batch publish. */
export const BATCH_CONTENT_TYPE = 'application/json';

/** Response header naming the refused item of a batch (0-based), for clients that retry the rest. */
export const BATCH_INDEX_HEADER = 'Herald-Batch-Index';

const FIELDS = new Set(['topic', 'data', 'id', 'type', 'retry', 'private', KEY_FIELD]);

/** A checked batch. */
export interface Batch {
  updates: Update[];
  /** Indexes of the updates whose ID the publisher chose (the others are fresh random UUIDs). */
  givenIds: number[];
}

/** A refusal of one item of a batch: the single publish's status and code, and the item's index. */
export class BatchItemError extends HubHttpError {
  readonly index: number;
  constructor(index: number, cause: HubHttpError) {
    super(cause.status, cause.code, `update ${index} of the batch: ${cause.message}`, cause.bearerError, {
      cause,
    });
    this.index = index;
  }
}

/**
 * Parses a batch body (text, or UTF-8 bytes: see batch-json.ts) and checks every item as a single
 * publish would be (fields, then the token's publish selectors), and that no two items share an ID.
 * Throws a 400 for a body that is not a non-empty JSON array, a {@link BatchItemError} for the
 * first refused item.
 */
export function toBatch(body: string | Buffer, maxTopics: number, selectors: SelectorSet | undefined): Batch {
  let items: unknown;
  try {
    items = typeof body === 'string' ? JSON.parse(body) : parseBatchJson(body);
  } catch (error) {
    throw badRequest(
      `a batch publish (${BATCH_CONTENT_TYPE}) must be a JSON array of updates (${(error as Error).message})`,
    );
  }
  if (!Array.isArray(items) || items.length === 0) {
    throw badRequest(
      `a batch publish (${BATCH_CONTENT_TYPE}) must be a non-empty JSON array of updates (got ${
        Array.isArray(items) ? 'an empty array' : typeof items
      })`,
      'HERALD_ERR_HUB_INVALID_UPDATE',
    );
  }
  // One clock reading for the batch: its updates were accepted together.
  const now = Date.now();
  const updates: Update[] = new Array(items.length);
  const givenIds: number[] = [];
  let ids: Set<string> | undefined;
  for (let i = 0; i < items.length; i++) {
    try {
      const update = toUpdate(toInput(items[i]), maxTopics, now);
      if (!canPublish(update.topics, selectors)) {
        throw insufficientScope(
          `the token does not allow publishing to every topic of this update (${update.topics
            .map((t) => JSON.stringify(t))
            .join(', ')}); every topic must match one of its publish selectors`,
        );
      }
      const given = (items[i] as { id?: unknown }).id;
      if (typeof given === 'string' && given !== '') {
        ids ??= new Set();
        if (ids.has(update.id)) {
          throw new HubHttpError(
            409,
            'HERALD_ERR_STORE_DUPLICATE_ID',
            `update IDs must be unique (got ${JSON.stringify(update.id)} twice in this batch)`,
          );
        }
        ids.add(update.id);
        givenIds.push(i);
      }
      updates[i] = update;
    } catch (error) {
      if (error instanceof HubHttpError) throw new BatchItemError(i, error);
      throw error;
    }
  }
  return { updates, givenIds };
}

/** One JSON item as a {@link PublishInput}; a 400 for a field of the wrong type or unknown name. */
function toInput(item: unknown): PublishInput {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw badRequest(
      `each update must be a JSON object of publish fields (got ${item === null ? 'null' : Array.isArray(item) ? 'an array' : typeof item})`,
      'HERALD_ERR_HUB_INVALID_UPDATE',
    );
  }
  const o = item as Record<string, unknown>;
  for (const name in o) {
    if (!FIELDS.has(name)) {
      throw badRequest(
        `unknown field ${JSON.stringify(name)}; an update has ${[...FIELDS].join(', ')}`,
        'HERALD_ERR_HUB_INVALID_UPDATE',
      );
    }
  }
  const topic = o.topic;
  const input: PublishInput = {
    topics: typeof topic === 'string' ? [topic] : Array.isArray(topic) ? topic : [],
    data: text(o, 'data'),
    private: flag(o.private),
    id: text(o, 'id'),
    type: text(o, 'type'),
  };
  if (topic !== undefined && typeof topic !== 'string' && !Array.isArray(topic)) {
    throw badRequest('topic must be a string or an array of strings', 'HERALD_ERR_HUB_INVALID_UPDATE');
  }
  if (o.retry !== undefined) {
    if (typeof o.retry !== 'number' && typeof o.retry !== 'string') {
      throw badRequest(
        `retry must be a number of milliseconds (got ${JSON.stringify(o.retry)})`,
        'HERALD_ERR_HUB_INVALID_UPDATE',
      );
    }
    input.retry = o.retry;
  }
  if (o[KEY_FIELD] !== undefined) input.key = o[KEY_FIELD] as string;
  return input;
}

function text(o: Record<string, unknown>, name: string): string | undefined {
  const value = o[name];
  if (value === undefined || typeof value === 'string') return value;
  throw badRequest(
    `${name} must be a string (got ${JSON.stringify(value)})`,
    'HERALD_ERR_HUB_INVALID_UPDATE',
  );
}

function flag(value: unknown): boolean {
  if (value === undefined || typeof value === 'boolean') return value === true;
  throw badRequest(
    `private must be true or false (got ${JSON.stringify(value)})`,
    'HERALD_ERR_HUB_INVALID_UPDATE',
  );
}
