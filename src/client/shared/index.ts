/** Sharing one `EventSource` connection across the tabs of an origin. */
export { SharedEventSource, type SharedEventSourceOptions } from './shared-event-source.js';
