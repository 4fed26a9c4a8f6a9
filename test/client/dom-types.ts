/**
 * Checked by the type check (`npm run typecheck`), not run: Herald's sources fit where the DOM's
 * `EventSource` type is expected, and their events are typed by name (`data` is a string, `gap`
 * carries its IDs). Each `@ts-expect-error` fails the check if the line it marks stops being an error.
 */
import {
  type GapEvent,
  EventSource as HeraldEventSource,
  SharedEventSource,
} from '../../src/client/index.js';

/** Code written for the browser's own EventSource takes Herald's. */
function renderFrom(source: EventSource): void {
  source.onmessage = (event) => console.log(event.data);
}
renderFrom(new HeraldEventSource('https://example.com/events'));
renderFrom(new SharedEventSource('https://example.com/events'));

const source = new HeraldEventSource('https://example.com/events');
source.addEventListener('message', (event) => {
  const text: string = event.data;
  // @ts-expect-error: message data is a string, not any
  const count: number = event.data;
  return [text, count];
});
source.addEventListener('price', (event) => {
  // @ts-expect-error: a named event's data is a string too
  const price: number = event.data;
  return price;
});
source.addEventListener('gap', (event) => {
  const gap: GapEvent = event;
  const asked: string = event.requested;
  const cursor: string = event.cursor;
  return [gap, asked, cursor];
});
source.onmessage = (event) => {
  // @ts-expect-error: the handler attribute is typed alike
  const n: number = event.data;
  return n;
};
