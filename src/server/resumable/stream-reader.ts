/**
 * One reader of a resumable stream: its event stream and how many chunks it has. It reads from the
 * store by sequence number, a page per drain of its own stream, until it reaches what the live
 * readers have; then it joins them. Its stream holds it (no listener closure per reader).
 */
import type { SseStream, StreamHolder } from '../sse-stream.js';
import type { LiveStream } from './live-stream.js';

/**
 * Bytes a catching-up reader queues before it waits for its stream to drain (or half its queue
 * when that is less): with pages of at most half the queue, a page written under it always fits.
 */
const CATCH_UP_BYTES = 64 * 1024;

export class StreamReader implements StreamHolder {
  readonly stream: SseStream;
  readonly live: LiveStream;
  /** Chunks written to this reader's stream. */
  after: number;
  #catchingUp = false;

  constructor(live: LiveStream, stream: SseStream, after: number) {
    this.live = live;
    this.stream = stream;
    this.after = after;
  }

  /** Starts (or resumes) reading at its own pace; joins the live readers once caught up. */
  catchUp(): void {
    if (this.#catchingUp) return;
    this.#catchingUp = true;
    this.#run().then(
      () => {
        this.#catchingUp = false;
      },
      () => {
        // The store failed or the stream vanished mid-read: end this response without an end
        // event; the client reconnects with its Last-Event-ID and gets the truth then.
        this.#catchingUp = false;
        this.stream.close();
      },
    );
  }

  async #run(): Promise<void> {
    const live = this.live;
    const stream = this.stream;
    const budget = Math.min(CATCH_UP_BYTES, stream.config.maxQueueBytes / 2);
    for (;;) {
      if (stream.queuedBytes > 0) await stream.whenDrained();
      if (stream.closed) return;
      if (this.after < live.count) {
        // Several pages per drain: one socket write per turn, not one per 256 chunks.
        do {
          const page = await live.page(this.after);
          if (stream.closed) return;
          if (!stream.write(page.bytes)) {
            // Refused ('drop' policy, or an overflow handler): going on would leave a hole. End
            // the response instead; the client resumes after the last chunk it really got.
            stream.close();
            return;
          }
          this.after += page.n;
        } while (this.after < live.count && stream.queuedBytes < budget);
        continue;
      }
      if (live.finalFrame !== null) {
        stream.close(live.finalFrame);
        return;
      }
      if (live.state !== 'following') {
        // Gone from the store (or released by a shutdown): the client reconnects and learns why.
        stream.close();
        return;
      }
      live.join(this);
      return;
    }
  }

  /** @internal The stream closed (either side). */
  release(): void {
    this.live.leave(this);
  }
}
