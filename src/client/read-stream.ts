/**
 * Reading a finite resumable stream (herald/server `createResumableStreams`, or the hub's streams)
 * as an async iterable of its chunks: from the start, or from `lastEventId`; across dropped
 * connections (it reconnects with `Last-Event-ID`, so no chunk is lost or repeated); done at the
 * `end` event; throwing {@link StreamAbortedError} at an `aborted` event.
 */
import { createParser, type ParsedEvent } from '../protocol/index.js';
import { Backoff } from './backoff.js';
import { StreamAbortedError, StreamReadError } from './errors.js';
import type { FetchLike, HeadersOption } from './options.js';
import { buildHeaders, isEventStreamType } from './request.js';

/** Options of {@link readStream}. */
export interface ReadStreamOptions {
  /** Resume after this event ID (what `lastEventId` of a previous read was); default: from the start. */
  lastEventId?: string;
  /** Extra request headers (a token), or a function giving them per connection attempt. */
  headers?: HeadersOption;
  /** The fetch to use (default: the global one). */
  fetch?: FetchLike;
  /** Stops reading: the iteration throws the signal's reason. */
  signal?: AbortSignal;
  /** Send cookies cross-origin (browsers). */
  withCredentials?: boolean;
  /** First reconnection delay in ms, before the server sends `retry:` (default 500). */
  retryMs?: number;
  /** Failed attempts in a row (no event received) before giving up (default 8). */
  maxRetries?: number;
  /** Called with each chunk's event ID, after the chunk is yielded (to save a resume point). */
  onEventId?: (id: string) => void;
}

/** What a resumable stream's final event says. */
interface FinalData {
  chunks?: number;
  reason?: string;
}

/**
 * Yields the chunks of a resumable stream, in order, each once, then returns at its end.
 *
 * @example
 * for await (const token of readStream('/generate/42')) output.textContent += token;
 */
export async function* readStream(
  url: string | URL,
  options: ReadStreamOptions = {},
): AsyncGenerator<string> {
  const doFetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const target = String(url);
  const backoff = new Backoff({ maxRetries: options.maxRetries ?? 8, maxMs: 10_000 });
  let retryMs = options.retryMs ?? 500;
  let lastEventId = options.lastEventId ?? '';
  const queue: ParsedEvent[] = [];
  const parser = createParser({
    onEvent: (event) => queue.push(event),
    onRetry: (ms) => {
      retryMs = Math.min(ms, 60_000);
    },
  });
  const signal = options.signal;

  for (;;) {
    signal?.throwIfAborted();
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort);
    let progressed = false;
    let failure: unknown;
    try {
      const extra = typeof options.headers === 'function' ? await options.headers() : options.headers;
      const response = await doFetch(target, {
        headers: buildHeaders(extra, lastEventId),
        cache: 'no-store',
        credentials: options.withCredentials ? 'include' : 'same-origin',
        signal: controller.signal,
      });
      if (response.status === 204) {
        // The server says this reader has everything, final event included.
        await response.body?.cancel();
        return;
      }
      if (response.status !== 200) {
        const text = (await response.text().catch(() => '')).trim();
        const refusal = new StreamReadError(
          response.status === 404 ? 'HERALD_ERR_STREAM_NOT_FOUND' : 'HERALD_ERR_STREAM_REFUSED',
          `${target} answered ${response.status}${text ? `: ${text}` : ''}`,
          response.status,
        );
        // 5xx and 429 are worth retrying; any other refusal is final.
        if (response.status < 500 && response.status !== 429) throw refusal;
        failure = refusal;
      } else if (!isEventStreamType(response.headers.get('content-type')) || response.body === null) {
        await response.body?.cancel();
        throw new StreamReadError(
          'HERALD_ERR_STREAM_REFUSED',
          `${target} did not answer with an event stream (Content-Type ${response.headers.get('content-type')})`,
          response.status,
        );
      } else {
        parser.reset({ lastEventId });
        const reader = response.body.getReader();
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            parser.feed(value);
            while (queue.length > 0) {
              const event = queue.shift()!;
              if (event.type === 'message') {
                lastEventId = event.lastEventId;
                progressed = true;
                yield event.data;
                options.onEventId?.(lastEventId);
              } else if (event.type === 'end' || event.type === 'aborted') {
                controller.abort();
                if (event.type === 'end') return;
                const data = parseFinal(event.data);
                throw new StreamAbortedError(data.reason ?? 'aborted', data.chunks ?? 0);
              }
            }
          }
        } catch (error) {
          if (error instanceof StreamAbortedError) throw error;
          failure = error;
        } finally {
          reader.releaseLock();
        }
      }
    } catch (error) {
      if (error instanceof StreamAbortedError) throw error;
      if (error instanceof StreamReadError && failure === undefined) throw error;
      if (signal?.aborted) throw signal.reason;
      failure ??= error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
    // The connection dropped (or the server refused for now): wait, then resume where we are.
    if (progressed) backoff.reset();
    const delay = backoff.next(retryMs);
    if (delay === null) {
      throw new StreamReadError(
        'HERALD_ERR_RETRIES_EXHAUSTED',
        `${target}: gave up after ${backoff.maxRetries} failed attempts in a row`,
        undefined,
        { cause: failure },
      );
    }
    await sleep(delay, signal);
  }
}

function parseFinal(data: string): FinalData {
  try {
    const parsed = JSON.parse(data) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as FinalData) : {};
  } catch {
    return { reason: data };
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
