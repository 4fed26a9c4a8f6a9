/**
 * `POST /.well-known/mercure`: a publisher's update (Mercure "Publication", both drafts). Answers
 * 200 `text/plain` with the update's ID once the store has it. A JSON body is a batch of updates
 * (Herald extension, publish-batch.ts), answered with every ID.
 */

import type { HubContext, Req, Res } from '../context.js';
import { DuplicateUpdateIdError } from '../stores/errors.js';
import { canPublish, type SelectorSet } from '../topics/index.js';
import type { Update } from '../update.js';
import { HubHttpError, insufficientScope } from './errors.js';
import { mediaType, readBodyText, readFormBody } from './form-body.js';
import { BATCH_CONTENT_TYPE, BATCH_INDEX_HEADER, BatchItemError, toBatch } from './publish-batch.js';
import { KEY_FIELD, toUpdate } from './publish-input.js';
import { handleStreamPublish, STREAM_FIELD, type StreamsContext } from './streams.js';
import type { FormFields } from './strict-form.js';

export async function handlePublish(ctx: HubContext, req: Req, res: Res, url: URL): Promise<void> {
  const { claims } = await ctx.auth.publisher(req.headers, url);
  const type = mediaType(req.headers['content-type']);
  if (type === BATCH_CONTENT_TYPE) return handleBatch(ctx, req, res, claims.publishSelectors);
  if (type !== 'application/x-www-form-urlencoded') {
    throw new HubHttpError(
      415,
      'HERALD_ERR_HUB_CONTENT_TYPE',
      `publish bodies must be application/x-www-form-urlencoded, or ${BATCH_CONTENT_TYPE} for a batch (got ${JSON.stringify(
        req.headers['content-type'] ?? 'none',
      )})`,
    );
  }
  const form = await readFormBody(req, ctx.options.maxBodyBytes);
  if (form.has(STREAM_FIELD)) {
    const id = await handleStreamPublish(ctx as StreamsContext, form, claims.publishSelectors, res);
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(id),
      'Cache-Control': 'no-store',
    });
    res.end(id);
    return;
  }
  const update = formUpdate(ctx, form, claims.publishSelectors);
  await ctx.append(update);
  const body = update.id;
  res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

/** The update of a form publish, checked, and granted by the token's selectors (else 400, 403). */
export function formUpdate(ctx: HubContext, form: FormFields, selectors: SelectorSet | undefined): Update {
  const update = toUpdate(
    {
      topics: form.getAll('topic'),
      data: form.get('data') ?? undefined,
      // Presence alone marks an update private, whatever the value (Mercure 1.0).
      private: form.has('private'),
      id: form.get('id') ?? undefined,
      type: form.get('type') ?? undefined,
      retry: form.get('retry') ?? undefined,
      key: form.get(KEY_FIELD) ?? undefined,
    },
    ctx.options.maxTopicsPerUpdate,
  );
  if (!canPublish(update.topics, selectors)) {
    throw insufficientScope(
      `the token does not allow publishing to every topic of this update (${update.topics
        .map((t) => JSON.stringify(t))
        .join(', ')}); every topic must match one of its publish selectors`,
    );
  }
  return update;
}

/**
 * A batch: every item checked, then IDs the publisher chose looked up in history, then every update
 * appended. Nothing is appended before all checks passed, so a refused batch stores nothing.
 */
async function handleBatch(
  ctx: HubContext,
  req: Req,
  res: Res,
  selectors: SelectorSet | undefined,
): Promise<void> {
  const text = await readBodyText(req, ctx.options.maxBodyBytes);
  let updates: Update[];
  try {
    updates = await checkBatch(ctx, text, selectors);
  } catch (error) {
    if (error instanceof BatchItemError) res.setHeader(BATCH_INDEX_HEADER, String(error.index));
    throw error;
  }
  await appendBatch(ctx, updates);
  const body = JSON.stringify(updates.map((update) => update.id));
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

/**
 * A batch body's updates, every one checked and granted, and none whose publisher-given ID is
 * still kept (else a `BatchItemError`, or a 400 for the body as a whole). Appends nothing.
 */
export async function checkBatch(
  ctx: HubContext,
  body: string | Buffer,
  selectors: SelectorSet | undefined,
): Promise<Update[]> {
  const batch = toBatch(body, ctx.options.maxTopicsPerUpdate, selectors);
  await refuseKeptIds(ctx, batch.updates, batch.givenIds);
  return batch.updates;
}

/**
 * Appends checked updates in order without waiting for each: the memory store takes them all in
 * this tick, the others queue them in order (SQLite's writer, Redis's pipeline). Straight to the
 * store, counted once: a thousand `ctx.append` calls would make a thousand more promises per batch.
 */
export async function appendBatch(ctx: HubContext, updates: Update[]): Promise<void> {
  const appended = new Array<Promise<void>>(updates.length);
  for (let i = 0; i < updates.length; i++) appended[i] = ctx.store.append(updates[i]!);
  try {
    await Promise.all(appended);
    ctx.metrics.published += updates.length;
  } catch (error) {
    const settled = await Promise.allSettled(appended);
    ctx.metrics.published += settled.filter((s) => s.status === 'fulfilled').length;
    throw error;
  }
}

/**
 * A 409 for the first update whose publisher-given ID is still in the kept history, before any is
 * appended. Generated IDs (random UUIDs) are not looked up. Another publisher may still take an
 * ID between this look-up and the append: that update is then refused by the store alone (409),
 * after the ones before it in the batch were stored.
 */
async function refuseKeptIds(ctx: HubContext, updates: Update[], given: number[]): Promise<void> {
  for (const i of given) {
    const id = updates[i]!.id;
    const { found } = await ctx.store.after(id, 0);
    if (found) {
      const message = new DuplicateUpdateIdError(id).message;
      throw new BatchItemError(i, new HubHttpError(409, 'HERALD_ERR_STORE_DUPLICATE_ID', message));
    }
  }
}
