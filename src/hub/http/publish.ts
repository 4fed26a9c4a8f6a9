/**
 * `POST /.well-known/mercure`: a publisher's update (Mercure "Publication", both drafts). Answers
 * 200 `text/plain` with the update's ID once the store has it.
 */
import { canPublish } from '../topics/index.js';
import type { HubContext, Req, Res } from './context.js';
import { HubHttpError, insufficientScope } from './errors.js';
import { isFormContentType, readFormBody } from './form-body.js';
import { KEY_FIELD, toUpdate } from './publish-input.js';
import { handleStreamPublish, STREAM_FIELD, type StreamsContext } from './streams.js';

export async function handlePublish(ctx: HubContext, req: Req, res: Res, url: URL): Promise<void> {
  const { claims } = await ctx.auth.publisher(req.headers, url);
  if (!isFormContentType(req.headers['content-type'])) {
    throw new HubHttpError(
      415,
      'HERALD_ERR_HUB_CONTENT_TYPE',
      `publish bodies must be application/x-www-form-urlencoded (got ${JSON.stringify(
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
  if (!canPublish(update.topics, claims.publishSelectors)) {
    throw insufficientScope(
      `the token does not allow publishing to every topic of this update (${update.topics
        .map((t) => JSON.stringify(t))
        .join(', ')}); every topic must match one of its publish selectors`,
    );
  }
  await ctx.append(update);
  const body = update.id;
  res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
