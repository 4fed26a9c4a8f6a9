/**
 * Resumable streams through the hub (a Herald extension; see docs/resumable-streams.md).
 *
 * Readers: `GET /.well-known/mercure/streams?topic=<IRI>` answers the stream whose ID is that topic:
 * every chunk from the start (or after `Last-Event-ID` / `lastEventID` / `last_event_id`), the live
 * tail, then an `end` (or `aborted`) event, and the response closes; a reconnect with the end
 * event's ID gets 204. Allowed with a token whose subscribe claim matches the topic, or without a
 * token when the hub lets anonymous subscribers in. Like a subscriber's, a reader's response closes
 * (without the end event) when its token expires or after `maxConnectionMs`: it resumes with its
 * Last-Event-ID and a token that is still valid.
 *
 * Producers publish as usual, plus a `herald.stream` field: `start`, `append`, `end` or `abort`,
 * with exactly one `topic` (the stream) and `data` fields (each one chunk; for `abort`, the
 * reason). The token's publish claim must match the topic. Answers the last event ID. An `append`
 * (or `end`) may carry `herald.after=<n>`, the `n` of the last ID it was answered: a retry of it
 * is then harmless. `private` is refused (400): streams have no private form yet, and a stream
 * read by anyone its reader rule admits must not be taken for one.
 */
import {
  type ResumableStreams,
  type SseStream,
  StreamCapacityError,
  StreamEndedError,
} from '../../server/index.js';
import type { HubContext, Req, Res } from '../context.js';
import { connectionExpiresAt, type Expiring, type ExpiryQueue } from '../subscribers/expiry-queue.js';
import { canPublish } from '../topics/index.js';
import { badRequest, insufficientScope, missingToken } from './errors.js';
import { addressesHubNamespace } from './publish-input.js';
import type { FormFields } from './strict-form.js';

/** The readers' route. */
export const STREAMS_PATH = '/.well-known/mercure/streams';

/** The publish form field that turns a publish into a stream operation. */
export const STREAM_FIELD = 'herald.stream';

/** The chunks a producer saw stored before this append (`n` of the last ID answered): retries are harmless. */
export const AFTER_FIELD = 'herald.after';

type StreamAction = 'start' | 'append' | 'end' | 'abort';
const ACTIONS: ReadonlySet<string> = new Set(['start', 'append', 'end', 'abort']);

/** A stream reader's response, closed when its token expires or its connection bound passes. */
export interface ExpiringReader extends Expiring {
  readonly stream: SseStream;
}

/** What the hub's stream routes need besides the usual context. */
export interface StreamsContext extends HubContext {
  readonly streams: ResumableStreams;
  /** Readers with an expiry, on one timer (the hub closes each one's stream when it fires). */
  readonly streamReaders: ExpiryQueue<ExpiringReader>;
}

function streamTopic(topics: string[]): string {
  if (topics.length !== 1 || topics[0] === '') {
    throw badRequest(
      `a resumable stream is named by exactly one "topic" (got ${topics.length}); send one topic per stream`,
      'HERALD_ERR_HUB_STREAM_TOPIC',
    );
  }
  const topic = topics[0]!;
  if (addressesHubNamespace(topic)) {
    throw badRequest(
      `topics under /.well-known/mercure are reserved to the hub (got ${JSON.stringify(topic)})`,
      'HERALD_ERR_HUB_RESERVED_TOPIC',
    );
  }
  return topic;
}

export async function handleStreamRead(ctx: StreamsContext, req: Req, res: Res, url: URL): Promise<void> {
  const query = url.searchParams;
  const topic = streamTopic(query.getAll('topic'));
  const auth = await ctx.auth.subscriber(req.headers, url);
  if (auth === undefined) {
    if (!ctx.options.anonymous) throw missingToken('reading a resumable stream');
  } else if (!auth.claims.subscribeSelectors.matchesAny([topic])) {
    throw insufficientScope(
      `the token does not allow reading stream ${JSON.stringify(topic)}: none of its subscribe selectors matches it`,
    );
  }
  // A reader holds a socket as a subscriber does: counted in the hub-wide cap with them.
  ctx.capacity.admitStreamReader(res);
  const header = req.headers['last-event-id'];
  const lastEventId =
    (typeof header === 'string' && header !== '' ? header : undefined) ??
    (query.get('last_event_id') || query.get('lastEventID') || null);
  const start = await ctx.streams.open(topic, lastEventId);
  if (start === null) {
    res.writeHead(204, { 'Cache-Control': 'no-store' });
    res.end();
    return;
  }
  let stream: SseStream;
  try {
    stream = ctx.sse.stream(req, res, ctx.streams.streamOptions);
  } catch (error) {
    start.cancel();
    throw error;
  }
  start.attach(stream);
  const expiresAt = connectionExpiresAt(Date.now(), auth?.claims.expiresAt, ctx.options.maxConnectionMs);
  if (Number.isFinite(expiresAt) && !stream.closed) {
    const reader: ExpiringReader = { stream, expiresAt, expiryIndex: -1 };
    ctx.streamReaders.add(reader);
    stream.on('close', () => ctx.streamReaders.remove(reader));
  }
}

/** `herald.after`, when sent: a chunk count (digits). */
function readAfter(form: FormFields): number | undefined {
  const values = form.getAll(AFTER_FIELD);
  if (values.length === 0) return undefined;
  const text = values[0]!;
  if (values.length > 1 || !/^(0|[1-9][0-9]{0,14})$/.test(text)) {
    throw badRequest(
      `${AFTER_FIELD} must be one chunk count, the n of the last ID answered (<tag>.<n>), such as 3 ` +
        `(got ${JSON.stringify(values.length > 1 ? values : text)})`,
      'HERALD_ERR_HUB_STREAM_AFTER',
    );
  }
  return Number(text);
}

/** A publish carrying `herald.stream`: returns the body to answer with (the last event ID). */
export async function handleStreamPublish(
  ctx: StreamsContext,
  form: FormFields,
  publishSelectors: Parameters<typeof canPublish>[1],
  res?: Res,
): Promise<string> {
  try {
    return await streamPublish(ctx, form, publishSelectors);
  } catch (error) {
    // Full for now, not for good: say when to try again, as for any 503 of the hub.
    if (error instanceof StreamCapacityError) res?.setHeader('Retry-After', '5');
    throw error;
  }
}

async function streamPublish(
  ctx: StreamsContext,
  form: FormFields,
  publishSelectors: Parameters<typeof canPublish>[1],
): Promise<string> {
  const action = form.get(STREAM_FIELD) ?? '';
  if (!ACTIONS.has(action)) {
    throw badRequest(
      `${STREAM_FIELD} must be start, append, end or abort (got ${JSON.stringify(action)})`,
      'HERALD_ERR_HUB_STREAM_ACTION',
    );
  }
  const topic = streamTopic(form.getAll('topic'));
  if (!canPublish([topic], publishSelectors)) {
    throw insufficientScope(
      `the token does not allow writing stream ${JSON.stringify(topic)}: none of its publish selectors matches it`,
    );
  }
  if (form.has('private')) {
    throw badRequest(
      'resumable streams cannot be private (readers are admitted by their subscribe claim, or as ' +
        'anonymous where the hub allows it): drop "private", and keep streams that must stay private ' +
        'on a hub that does not accept anonymous subscribers, under topics only their readers may subscribe to',
      'HERALD_ERR_HUB_STREAM_PRIVATE',
    );
  }
  const after = readAfter(form);
  const streams = ctx.streams;
  const chunks = form.getAll('data');
  switch (action as StreamAction) {
    case 'start': {
      const info = await streams.start(topic, chunks);
      return `${info.tag}.${info.count}`;
    }
    case 'append': {
      const count = await streams.append(topic, chunks, after === undefined ? {} : { after });
      const info = await streams.info(topic);
      return `${info?.tag ?? ''}.${count}`;
    }
    case 'end': {
      try {
        if (chunks.length > 0 || after !== undefined)
          await streams.append(topic, chunks, after === undefined ? {} : { after });
        const info = await streams.finish(topic, 'ended');
        return `${info.tag}.end`;
      } catch (error) {
        // A retried `end` whose answer was lost: the stream ended with exactly what it said.
        if (after !== undefined && error instanceof StreamEndedError && error.state === 'ended') {
          const info = await streams.info(topic);
          if (info !== undefined && info.count === after + chunks.filter((c) => c !== '').length)
            return `${info.tag}.end`;
        }
        throw error;
      }
    }
    case 'abort': {
      const info = await streams.finish(
        topic,
        'aborted',
        chunks.join('\n') || 'the publisher aborted the stream',
      );
      return `${info.tag}.end`;
    }
  }
}
