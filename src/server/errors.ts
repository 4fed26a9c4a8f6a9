import { HeraldError } from '../errors.js';

/** An option given to herald/server is out of range or of the wrong type; thrown at construction. */
export class InvalidServerOptionError extends HeraldError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('HERALD_ERR_SERVER_OPTION', message);
    this.option = option;
  }
}

/**
 * A stream's queue went over `maxQueueBytes` because its client reads slower than events arrive. Passed
 * to `slow` listeners and the logger; the client resumes with `Last-Event-ID` when the stream is closed.
 */
export class SlowConsumerError extends HeraldError {
  readonly queuedBytes: number;
  readonly maxQueueBytes: number;
  /** What the stream does about it: `'close'`, `'drop'` (events) or `'conflate'` (keeps the stream). */
  readonly action: 'close' | 'drop' | 'conflate';
  constructor(queuedBytes: number, maxQueueBytes: number, action: 'close' | 'drop' | 'conflate' = 'close') {
    super(
      'HERALD_ERR_SLOW_CONSUMER',
      `stream queue would exceed maxQueueBytes (${queuedBytes} > ${maxQueueBytes} bytes): the client reads ` +
        'slower than events arrive; raise maxQueueBytes or choose the overflow policy',
    );
    this.queuedBytes = queuedBytes;
    this.maxQueueBytes = maxQueueBytes;
    this.action = action;
  }
}
