/**
 * Counts the events one subscriber receives, straight from the socket bytes: strips the HTTP/1.1
 * response head and chunked framing, then reads `id:` lines. Ids are the integers 0..n-1 in order, so
 * a gap is a loss and a repeat is a duplicate. Cheap on purpose: the load generator must outrun the
 * server under test on one core.
 */

const LF = 10;
const CR = 13;

enum State {
  Head = 0,
  Size = 1,
  Data = 2,
  DataEnd = 3,
}

export class EventCounter {
  received = 0;
  duplicates = 0;
  lost = 0;
  /** The next id expected. */
  next = 0;
  #state = State.Head;
  #headMatch = 0;
  #size = 0;
  #sizeText = '';
  #line = '';

  /** Feeds raw socket bytes. */
  feed(buf: Buffer): void {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      switch (this.#state) {
        case State.Head: {
          // Looks for the blank line ending the head: CR LF CR LF.
          const c = buf[i++]!;
          const want = this.#headMatch % 2 === 0 ? CR : LF;
          this.#headMatch = c === want ? this.#headMatch + 1 : c === CR ? 1 : 0;
          if (this.#headMatch === 4) this.#state = State.Size;
          break;
        }
        case State.Size: {
          const eol = buf.indexOf(LF, i);
          if (eol === -1) {
            this.#sizeText += buf.toString('latin1', i, n);
            i = n;
            break;
          }
          this.#sizeText += buf.toString('latin1', i, eol);
          i = eol + 1;
          this.#size = Number.parseInt(this.#sizeText, 16);
          this.#sizeText = '';
          this.#state = this.#size === 0 ? State.Head : State.Data;
          break;
        }
        case State.Data: {
          const end = Math.min(n, i + this.#size);
          this.#lines(buf, i, end);
          this.#size -= end - i;
          i = end;
          if (this.#size === 0) this.#state = State.DataEnd;
          break;
        }
        case State.DataEnd: {
          // The CR LF after a chunk's data.
          if (buf[i++] === LF) this.#state = State.Size;
          break;
        }
      }
    }
  }

  #lines(buf: Buffer, start: number, end: number): void {
    let i = start;
    while (i < end) {
      const eol = buf.indexOf(LF, i);
      if (eol === -1 || eol >= end) {
        this.#line += buf.toString('latin1', i, end);
        return;
      }
      if (this.#line !== '') {
        this.#onLine(this.#line + buf.toString('latin1', i, eol));
        this.#line = '';
      } else if (buf[i] === 105 /* i */ && buf[i + 1] === 100 /* d */) {
        this.#onLine(buf.toString('latin1', i, eol));
      }
      i = eol + 1;
    }
  }

  #onLine(line: string): void {
    // `id:` then an optional space (WHATWG 9.2.6); better-sse writes none, herald writes one.
    if (!line.startsWith('id:')) return;
    const id = Number.parseInt(line.slice(line.charCodeAt(3) === 32 ? 4 : 3), 10);
    if (id < this.next) {
      this.duplicates++;
      return;
    }
    this.lost += id - this.next;
    this.next = id + 1;
    this.received++;
  }
}
