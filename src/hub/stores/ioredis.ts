/**
 * ioredis, loaded without slowing down every string method of the process. The Redis store, the
 * Redis resumable store and Redis presence import `Redis` from here, never from 'ioredis' itself.
 *
 * ioredis defines `class VerbatimString extends String`. Making `String.prototype` the prototype
 * of another object makes V8 turn it into a dictionary (its "set-up mode" for prototypes), and V8
 * turns a prototype back into fast properties only when a property is looked up, through an
 * inline-cache miss, on an object whose chain holds it. Methods of string primitives never
 * take that path, so `String.prototype` stays a dictionary for the life of the process, and
 * optimized code can no longer inline a call to `charCodeAt`, `indexOf`, `slice`, `includes`,
 * `trim` or any other string method: each goes through a generic property load instead. A profile
 * of keep-alive publishes put 4% of the hub's CPU in those loads (`Builtins_LoadIC`), in the
 * request reader, the form parser and the history index; the hub loads ioredis at start-up, whatever
 * its store, since presence is part of the hub's API.
 *
 * The remedy takes that path on purpose: a few property loads on a `String` wrapper object, from a
 * function run often enough to have inline caches. Checked by test/hub/stores/ioredis.test.ts on
 * every Node line the project supports.
 */
import { Redis, type RedisOptions } from 'ioredis';

function lookUpOnStringWrapper(wrapper: object): unknown {
  return (wrapper as { charAt: unknown }).charAt;
}

// V8 gives a function its inline caches after a few calls: the first calls do not count.
const wrapper = Object('');
for (let i = 0; i < 64; i++) lookUpOnStringWrapper(wrapper);

export { Redis, type RedisOptions };
