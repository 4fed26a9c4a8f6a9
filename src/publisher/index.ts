/**
 * herald/publisher: publish updates to a Mercure hub from Node, over keep-alive connections.
 */

export {
  type BatchOptions,
  DEFAULT_BATCH_MAX_BYTES,
  DEFAULT_BATCH_MAX_DELAY_MS,
  DEFAULT_BATCH_MAX_UPDATES,
} from './batcher.js';
export {
  InvalidPublishError,
  PublishConnectionError,
  PublishError,
  PublisherClosedError,
} from './errors.js';
export {
  createPublisher,
  DEFAULT_BATCH_PIPELINING,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  DEFAULT_PUBLISHER_CONNECTIONS,
  type Publisher,
  type PublisherOptions,
  type PublishOptions,
} from './publisher.js';
export { encodeUpdateForm, encodeUpdateJson, type PublishInit } from './update-form.js';
