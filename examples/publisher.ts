/**
 * herald/publisher: posts one update to a Mercure hub over a keep-alive connection pool. With the
 * demo hub (`npm start`), use the token it prints; the notifications page shows the update.
 *
 * Run: HERALD_TOKEN=<publisher JWT> node --import tsx examples/publisher.ts [hub URL] [text]
 *      (default hub http://localhost:3000/.well-known/mercure)
 */
import { createPublisher, PublishError } from 'herald/publisher';

const hubUrl = process.argv[2] ?? process.env.HUB_URL ?? 'http://localhost:3000/.well-known/mercure';
const text = process.argv[3] ?? 'hello from herald/publisher';

const publisher = createPublisher({
  hubUrl,
  getToken: () => process.env.HERALD_TOKEN ?? '', // or token: '<JWT>'; called before every publish
});
try {
  const id = await publisher.publish({
    topics: 'https://example.com/demo/notifications', // the demo's notifications page listens here
    data: JSON.stringify({ text, at: new Date().toISOString() }),
    // optional: id, type, retry, private
  });
  console.log(`published ${id}`);
} catch (error) {
  if (!(error instanceof PublishError)) throw error;
  console.error(`refused: ${error.status} ${error.hubMessage}`);
  process.exitCode = 1;
} finally {
  await publisher.close(); // waits for publishes in flight
}
