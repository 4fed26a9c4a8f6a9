import { HeraldError } from '../errors.js';

/**
 * The hub answered a publish with a status other than 2xx. `status` is the HTTP status and
 * `hubMessage` the body the hub sent (Mercure hubs explain the refusal there, in plain text); the
 * `WWW-Authenticate` challenge is kept for 401 and 403, where it names the OAuth error.
 */
export class PublishError extends HeraldError {
  readonly status: number;
  readonly hubMessage: string;
  readonly wwwAuthenticate: string | undefined;

  constructor(status: number, hubMessage: string, wwwAuthenticate?: string) {
    super('HERALD_ERR_PUBLISH_REJECTED', publishRefusal(status, hubMessage, wwwAuthenticate));
    this.status = status;
    this.hubMessage = hubMessage;
    this.wwwAuthenticate = wwwAuthenticate;
  }
}

// One hint per status a Mercure hub uses for refusals (Mercure spec, "Publication" and "Error Responses").
const FIXES: Record<number, string> = {
  400: 'check the update fields (topic, id, type, retry)',
  401: 'send a valid, unexpired publisher JWT (token or getToken)',
  403: 'the token must grant "publish" on the topic, which must not be under /.well-known/mercure',
  413: 'send a smaller update, or raise the hub body limit',
};

function publishRefusal(status: number, hubMessage: string, wwwAuthenticate: string | undefined): string {
  const said = hubMessage.trim() === '' ? '' : `: ${JSON.stringify(hubMessage.trim().slice(0, 500))}`;
  const challenge = wwwAuthenticate === undefined ? '' : ` (WWW-Authenticate: ${wwwAuthenticate})`;
  const fix = FIXES[status] ?? (status >= 500 ? 'the hub failed; retry later' : 'see the hub logs');
  return `hub refused the update with status ${status}${said}${challenge}; a publish succeeds only with 2xx; ${fix}`;
}

/** The publish never got an answer: the hub was unreachable, the connection broke, or it timed out. */
export class PublishConnectionError extends HeraldError {
  readonly hubUrl: string;

  constructor(hubUrl: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'HERALD_ERR_PUBLISH_CONNECTION',
      `publish to ${hubUrl} got no answer (${reason}); the hub must be reachable at hubUrl; check the URL and that the hub runs`,
      { cause },
    );
    this.hubUrl = hubUrl;
  }
}

/** `publish()` was called after `close()`. */
export class PublisherClosedError extends HeraldError {
  constructor() {
    super(
      'HERALD_ERR_PUBLISHER_CLOSED',
      'publish() called after close(); a closed publisher sends nothing; create a new publisher',
    );
  }
}

/** Options or an update that cannot be sent as given (misuse, thrown at the call site). */
export class InvalidPublishError extends HeraldError {
  readonly field: string;

  constructor(field: string, message: string) {
    super('HERALD_ERR_INVALID_PUBLISH', message);
    this.field = field;
  }
}
