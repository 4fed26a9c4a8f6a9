/**
 * Reads an `application/x-www-form-urlencoded` request body with a byte bound: counted as it
 * streams, so a client cannot make the hub buffer more than `maxBytes` whatever it announces.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { HubHttpError } from './errors.js';
import { type FormFields, parseStrictForm } from './strict-form.js';

function tooLarge(maxBytes: number, size: number | string): HubHttpError {
  return new HubHttpError(
    413,
    'HERALD_ERR_HUB_BODY_TOO_LARGE',
    `publish bodies are limited to ${maxBytes} bytes (got ${size}); send less data or raise maxBodyBytes`,
  );
}

/** The media type of a Content-Type, lower-cased, without parameters (`''` when absent). */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** True when the Content-Type is form-urlencoded (parameters such as charset allowed). */
export function isFormContentType(contentType: string | undefined): boolean {
  return mediaType(contentType) === 'application/x-www-form-urlencoded';
}

/**
 * Resolves the body's fields. Rejects with 413 past `maxBytes` (the request is then drained no
 * further: the caller answers and closes), 400 when the body, or a value once
 * percent-decoded, is not valid UTF-8.
 */
export async function readFormBody(req: IncomingMessage, maxBytes: number): Promise<FormFields> {
  return parseStrictForm(await readBodyText(req, maxBytes), 'body');
}

/**
 * Resolves a publish body as text (form or batch). Rejects with 413 past `maxBytes` (the request
 * is then drained no further: the caller answers and closes), 400 when it is not valid UTF-8.
 */
export function readBodyText(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    return Promise.reject(tooLarge(maxBytes, `Content-Length ${declared}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        reject(tooLarge(maxBytes, `more than ${maxBytes}`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      // A publish body usually arrives in one chunk: decode it as is. `isUtf8` then `toString` is
      // several times cheaper than a fatal TextDecoder on the large bodies of batches.
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      if (!isUtf8(body)) {
        reject(new HubHttpError(400, 'HERALD_ERR_HUB_BAD_REQUEST', 'publish bodies must be UTF-8'));
        return;
      }
      const text = body.toString('utf8');
      // A byte-order mark is not content (TextDecoder drops it too).
      resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
