/** The topics the demo publishes on. IRIs, as Mercure topics usually are; nothing is fetched from them. */
export const DEMO_TOPICS = {
  clock: 'https://example.com/demo/clock',
  ticker: 'https://example.com/demo/ticker',
  notifications: 'https://example.com/demo/notifications',
  builds: 'https://example.com/demo/builds',
  /** The hub's own figures (connections, updates per second), once a second: the front page shows them. */
  stats: 'https://example.com/demo/stats',
  compare: 'https://example.com/demo/compare',
} as const;
