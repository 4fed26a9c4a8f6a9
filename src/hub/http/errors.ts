/**
 * Hub HTTP errors and the one function that turns any error into a status, headers and a body.
 * Messages are plain text and name the rule, the value and the fix; auth failures follow RFC 6750
 * section 3 (a `WWW-Authenticate: Bearer` challenge; no error code when no token was presented).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeraldError } from '../../errors.js';
import { ResumableStreamError } from '../../server/index.js';
import { AuthError, type BearerChallengeParams, bearerChallenge } from '../auth/index.js';
import { endAfterDrain, hasUnreadBody } from './refused-body.js';

/** A request the hub refuses: carries the HTTP status and, for auth failures, the RFC 6750 error. */
export class HubHttpError extends HeraldError {
  readonly status: number;
  /** RFC 6750 error code (`invalid_request`, `invalid_token`, `insufficient_scope`) for the challenge. */
  readonly bearerError: string | undefined;
  /** Sent as `Retry-After` with the refusal (429, 503): when the client may try again. */
  retryAfterSeconds: number | undefined;
  constructor(
    status: number,
    code: string,
    message: string,
    bearerError?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.status = status;
    this.bearerError = bearerError;
  }
}

/** 400 with a message. */
export function badRequest(message: string, code = 'HERALD_ERR_HUB_BAD_REQUEST'): HubHttpError {
  return new HubHttpError(400, code, message);
}

/** 401 without error code: no token was presented and the operation needs one (RFC 6750 3.1). */
export function missingToken(operation: string): HubHttpError {
  return new HubHttpError(
    401,
    'HERALD_ERR_HUB_UNAUTHORIZED',
    `${operation} requires a token: send "Authorization: Bearer <JWT>" or the hub's cookie`,
  );
}

/** 403 `insufficient_scope`: the token is valid but does not grant this. */
export function insufficientScope(message: string): HubHttpError {
  return new HubHttpError(403, 'HERALD_ERR_HUB_FORBIDDEN', message, 'insufficient_scope');
}

interface ErrorLike {
  code?: unknown;
  message?: unknown;
}

/** What a request error becomes on the wire. */
export interface ErrorResponse {
  status: number;
  message: string;
  /** The `WWW-Authenticate` value, for 401/403 (RFC 6750 section 3). */
  challenge?: string;
}

/**
 * Status, message and challenge for any error thrown while handling a request: the one place
 * errors become HTTP.
 */
export function describeError(error: unknown, challenge: BearerChallengeParams = {}): ErrorResponse {
  if (error instanceof HubHttpError) {
    const out: ErrorResponse = { status: error.status, message: error.message };
    if (error.status === 401 || error.status === 403) {
      const params: BearerChallengeParams = { ...challenge };
      let text = bearerChallenge(undefined, params);
      if (error.bearerError !== undefined) {
        text += `${text === 'Bearer' ? ' ' : ', '}error="${error.bearerError}"`;
      }
      out.challenge = text;
    }
    return out;
  }
  if (error instanceof ResumableStreamError) return { status: error.status, message: error.message };
  if (error instanceof AuthError) {
    // `description` only: telling an expired token from a forged one helps attackers, not clients.
    const out: ErrorResponse = { status: error.status, message: error.description };
    if (error.status !== 503) out.challenge = bearerChallenge(error, challenge);
    return out;
  }
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (code === 'HERALD_ERR_INVALID_EVENT' || code === 'HERALD_ERR_SELECTOR_INVALID')
    return { status: 400, message };
  if (code === 'HERALD_ERR_STORE_DUPLICATE_ID') return { status: 409, message };
  if (code === 'HERALD_ERR_STORE_UNAVAILABLE' || code === 'HERALD_ERR_STORE_CLOSED') {
    return { status: 503, message: 'the hub cannot reach its store right now; retry later' };
  }
  return { status: 500, message: 'internal error' };
}

/**
 * Writes an error response unless headers are already out; returns the status sent. `params` go
 * into Bearer challenges (Mercure 1.0 recommends `resource_metadata` on every one).
 */
export function sendError(res: ServerResponse, error: unknown, params?: BearerChallengeParams): number {
  const { status, message, challenge } = describeError(error, params);
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  if (challenge !== undefined) res.setHeader('WWW-Authenticate', challenge);
  if (error instanceof HubHttpError && error.retryAfterSeconds !== undefined) {
    res.setHeader('Retry-After', String(error.retryAfterSeconds));
  }
  const body = `${message}\n`;
  // Refused before its body was read (413, 401, 415 on a publish): the client may still be sending.
  const req = res.req as IncomingMessage | undefined;
  const unread = hasUnreadBody(req);
  if (unread) res.setHeader('Connection', 'close');
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  if (unread) endAfterDrain(req, res, body);
  else res.end(body);
  return status;
}
