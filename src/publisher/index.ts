/**
 * herald/publisher: publish updates to a Mercure hub from Node, over keep-alive connections.
 */
export {
  InvalidPublishError,
  PublishConnectionError,
  PublishError,
  PublisherClosedError,
} from './errors.js';
export {
  createPublisher,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  DEFAULT_PUBLISHER_CONNECTIONS,
  type Publisher,
  type PublisherOptions,
  type PublishOptions,
} from './publisher.js';
export { encodeUpdateForm, type PublishInit } from './update-form.js';
