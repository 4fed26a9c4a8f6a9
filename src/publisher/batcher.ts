/**
 * Gathers publishes into batches (Herald's JSON batch publish): a batch leaves when it holds
 * `maxUpdates` updates or `maxBytes` bytes, or `maxDelayMs` after its first update, whichever
 * comes first. Each publish still resolves with its own ID.
 */
import { InvalidPublishError, PublishError } from './errors.js';

/** Bounds of a batch; see {@link PublisherOptions.batch}. */
export interface BatchOptions {
  /** Send once this many updates wait. Default {@link DEFAULT_BATCH_MAX_UPDATES}. */
  maxUpdates?: number;
  /**
   * Send before the JSON body would pass this many bytes. Default {@link DEFAULT_BATCH_MAX_BYTES},
   * half the Herald hub's default `maxBodyBytes`. One update larger than this goes alone.
   */
  maxBytes?: number;
  /** Send at most this long after the first waiting update. Default {@link DEFAULT_BATCH_MAX_DELAY_MS}. */
  maxDelayMs?: number;
}

export const DEFAULT_BATCH_MAX_UPDATES = 1000;
export const DEFAULT_BATCH_MAX_BYTES = 512 * 1024;
/** Short enough to stay below what a person notices, long enough to gather a burst. */
export const DEFAULT_BATCH_MAX_DELAY_MS = 5;

/** The hub's answer to one batch request; the publisher turns "no answer" into a rejection. */
export interface BatchAnswer {
  status: number;
  text: string;
  /** The `Herald-Batch-Index` header: the refused item. */
  index: string | undefined;
  challenge: string | undefined;
}

interface Waiting {
  item: string;
  bytes: number;
  resolve(id: string): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  /** Settled already (aborted while waiting): left out of the batch. */
  done: boolean;
}

/** Checks the options once, at construction; the defaults fill what is not given. */
export function batchBounds(options: BatchOptions | true): Required<BatchOptions> {
  const o = options === true ? {} : options;
  const bound = (name: keyof BatchOptions, value: number | undefined, fallback: number, min: number) => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min) {
      throw new InvalidPublishError(
        `batch.${name}`,
        `batch.${name} must be an integer of at least ${min} (got ${String(value)}); omit it for ${fallback}`,
      );
    }
    return v;
  };
  return {
    maxUpdates: bound('maxUpdates', o.maxUpdates, DEFAULT_BATCH_MAX_UPDATES, 1),
    maxBytes: bound('maxBytes', o.maxBytes, DEFAULT_BATCH_MAX_BYTES, 1),
    maxDelayMs: bound('maxDelayMs', o.maxDelayMs, DEFAULT_BATCH_MAX_DELAY_MS, 0),
  };
}

export class Batcher {
  readonly #bounds: Required<BatchOptions>;
  readonly #post: (body: string) => Promise<BatchAnswer>;
  #waiting: Waiting[] = [];
  /** Bytes of the JSON array the waiting updates make (brackets and commas included). */
  #bytes = 1;
  #timer: NodeJS.Timeout | undefined;
  readonly #sending = new Set<Promise<void>>();

  constructor(bounds: Required<BatchOptions>, post: (body: string) => Promise<BatchAnswer>) {
    this.#bounds = bounds;
    this.#post = post;
  }

  /** Queues one encoded update (a JSON object); resolves with its ID. */
  add(item: string, signal: AbortSignal | undefined): Promise<string> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const bytes = Buffer.byteLength(item) + 1;
      if (this.#waiting.length > 0 && this.#bytes + bytes > this.#bounds.maxBytes) this.flush();
      const waiting: Waiting = { item, bytes, resolve, reject, signal, done: false };
      // Aborted before it left: it leaves the batch. Aborted later: the promise rejects, but the
      // hub may have stored it already, as with a single publish.
      signal?.addEventListener(
        'abort',
        () => {
          if (waiting.done) return;
          waiting.done = true;
          reject(signal.reason);
        },
        { once: true },
      );
      this.#waiting.push(waiting);
      this.#bytes += bytes;
      if (this.#waiting.length >= this.#bounds.maxUpdates || this.#bytes >= this.#bounds.maxBytes)
        this.flush();
      else this.#timer ??= setTimeout(() => this.flush(), this.#bounds.maxDelayMs);
    });
  }

  /** Sends what waits now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#waiting.filter((w) => !w.done);
    this.#waiting = [];
    this.#bytes = 1;
    if (batch.length === 0) return;
    const sending = this.#send(batch).finally(() => this.#sending.delete(sending));
    this.#sending.add(sending);
  }

  /** Sends what waits and resolves once every batch has its answer. */
  async drain(): Promise<void> {
    this.flush();
    while (this.#sending.size > 0) await Promise.allSettled([...this.#sending]);
  }

  async #send(batch: Waiting[]): Promise<void> {
    let answer: BatchAnswer;
    try {
      answer = await this.#post(`[${batch.map((w) => w.item).join(',')}]`);
    } catch (error) {
      for (const w of batch) settle(w, error);
      return;
    }
    if (answer.status >= 200 && answer.status <= 299) {
      const ids = parseIds(answer.text, batch.length);
      if (ids === undefined) {
        const error = new PublishError(
          answer.status,
          `not a batch answer (a JSON array of ${batch.length} IDs): ${answer.text.slice(0, 200)}`,
        );
        for (const w of batch) settle(w, error);
      } else for (let i = 0; i < batch.length; i++) settle(batch[i]!, undefined, ids[i]);
      return;
    }
    const error = new PublishError(answer.status, answer.text, answer.challenge);
    // The hub refused one item and stored nothing: that update fails alone, the others go again.
    const index = answer.index === undefined ? -1 : Number(answer.index);
    if (Number.isInteger(index) && index >= 0 && index < batch.length) {
      settle(batch[index]!, error);
      const rest = batch.filter((w, i) => i !== index && !w.done);
      if (rest.length > 0) await this.#send(rest);
      return;
    }
    for (const w of batch) settle(w, error);
  }
}

function settle(w: Waiting, error: unknown, id?: string): void {
  if (w.done) return;
  w.done = true;
  if (id !== undefined) w.resolve(id);
  else w.reject(error);
}

function parseIds(text: string, count: number): string[] | undefined {
  try {
    const ids: unknown = JSON.parse(text);
    if (Array.isArray(ids) && ids.length === count && ids.every((id) => typeof id === 'string')) return ids;
  } catch {}
  return undefined;
}
