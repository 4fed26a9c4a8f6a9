/**
 * How a follower tells a hung leader (a stuck script, a debugger pause) from a quiet one, at a cost
 * in wake-ups no higher than a plain tab's. A leader that closes or whose tab goes away releases its
 * Web Lock, which hands over for free; a hung one keeps it, so followers must ask.
 *
 * One timer per follower, no interval: it fires only after a silence of the check period (any
 * message from the leader re-arms it, from that message's task), then the follower pings and waits
 * for a beat. A hidden page checks 9 times less often: a page nobody looks at should not wake up
 * every few seconds (Chromium throttles it to once a minute anyway after five minutes, but only
 * timers set from timers: those set from a message task, as these are, keep their delay). A page
 * that becomes visible checks at once.
 *
 * Bounds, for a leader timeout T: with a visible follower a hung leader is replaced within about
 * 1.2 T (up to 0.55 T of silence, then up to 0.625 T for the beat); with every follower hidden,
 * within about 5.6 T (up to 4.95 T, then the same wait). T = 10 s gives 12 s and 56 s.
 */

/** A hidden follower's check period, in leader timeouts (the visible one is half a timeout). */
export const HIDDEN_CHECK_TIMEOUTS = 4.5;

export interface LeaderWatchHooks {
  /** Asks the leader whether it is alive (`ping`); its `beat` comes back through {@link LeaderWatch.heard}. */
  ping(): void;
  /** No answer in time: take the leader's lock. */
  takeOver(): void;
  /** A wait for the leader's beat begins (this follower pinged, or heard another's ping). */
  waiting?(): void;
}

interface VisibilityDocument {
  visibilityState?: string;
  addEventListener(type: 'visibilitychange', listener: () => void): void;
  removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

function pageDocument(): VisibilityDocument | null {
  const doc = (globalThis as { document?: VisibilityDocument }).document;
  return doc !== undefined && typeof doc.addEventListener === 'function' ? doc : null;
}

export class LeaderWatch {
  readonly #half: number;
  readonly #hooks: LeaderWatchHooks;
  readonly #document = pageDocument();
  #following = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer was last set (`Date.now()`), to re-arm it at most a few times a period. */
  #armedAt = 0;
  /** When the leader was last heard from. */
  #heardAt = Date.now();
  /** When this follower pinged, or heard another ping, and waits for a beat; 0 when not waiting. */
  #pingedAt = 0;
  /** How long to wait for the beat this time: up to a quarter more at random, so pingers do not all steal. */
  #wait = 0;

  constructor(leaderTimeoutMs: number, hooks: LeaderWatchHooks) {
    this.#half = leaderTimeoutMs / 2;
    this.#hooks = hooks;
    this.#document?.addEventListener('visibilitychange', this.#onVisibility);
  }

  /** This member follows a leader from now on (joined, or deposed): watch it. */
  follow(): void {
    this.#following = true;
    this.heard();
    this.#arm(this.#period(), true);
  }

  /** This member leads, or closed: nothing to watch. */
  pause(): void {
    this.#following = false;
    this.#pingedAt = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Stops for good. */
  close(): void {
    this.pause();
    this.#document?.removeEventListener('visibilitychange', this.#onVisibility);
  }

  /** A message from the leader arrived: it is alive. Cheap: called for every relayed event. */
  heard(): void {
    const now = Date.now();
    const waiting = this.#pingedAt !== 0;
    this.#heardAt = now;
    this.#pingedAt = 0;
    // Re-armed from this message's task, so the timer never becomes a chain of timers (which
    // Chromium throttles in hidden pages); a few times a period, not once per event; and at once
    // when the beat awaited came, or the wait's timer would wake the page for nothing.
    if (this.#following && (waiting || now - this.#armedAt >= this.#period() / 4))
      this.#arm(this.#period(), true);
  }

  /** Another follower pinged the leader: wait for the same beat instead of pinging as well. */
  otherPinged(): void {
    if (!this.#following || this.#pingedAt !== 0) return;
    this.#startWaiting(Date.now());
  }

  #period(): number {
    return this.#document?.visibilityState === 'hidden' ? this.#half * 2 * HIDDEN_CHECK_TIMEOUTS : this.#half;
  }

  /**
   * A period gets up to a tenth more at random (`spread`): followers that heard the same beat spread out, so
   * one pings and the others hear its ping, rather than all pinging at once.
   */
  #arm(delay: number, spread = false): void {
    clearTimeout(this.#timer);
    this.#armedAt = Date.now();
    this.#timer = setTimeout(this.#check, Math.max(0, delay) * (spread ? 1 + Math.random() / 10 : 1));
  }

  #startWaiting(now: number): void {
    this.#pingedAt = now;
    this.#wait = this.#half * (1 + Math.random() / 4);
    this.#arm(this.#wait);
    this.#hooks.waiting?.();
  }

  readonly #check = (): void => {
    this.#timer = undefined;
    if (!this.#following) return;
    const now = Date.now();
    if (this.#pingedAt !== 0) {
      const waited = now - this.#pingedAt;
      if (waited >= this.#wait) {
        this.#pingedAt = 0;
        this.#heardAt = now;
        this.#hooks.takeOver();
      } else this.#arm(this.#wait - waited);
      return;
    }
    const silence = now - this.#heardAt;
    const period = this.#period();
    if (silence < period) {
      this.#arm(period - silence, true);
      return;
    }
    this.#startWaiting(now);
    this.#hooks.ping();
  };

  /** Shown again: check now if the leader was silent for a visible period; hidden: check less often. */
  readonly #onVisibility = (): void => {
    if (!this.#following || this.#pingedAt !== 0) return;
    const silence = Date.now() - this.#heardAt;
    this.#arm(this.#period() - silence);
  };
}
