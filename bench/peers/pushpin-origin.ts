/**
 * The origin behind Pushpin, as its docs describe for HTTP streaming: every GET is answered at once
 * with `Grip-Hold: stream` and the channels to hold it on (`?c=a,b`), and Pushpin keeps the
 * connection open and streams what is published to those channels. argv[2]: the port.
 */
import http from 'node:http';

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://origin');
  const channels = (url.searchParams.get('c') ?? 'shared').split(',');
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'grip-hold': 'stream',
    'grip-channel': channels.join(', '),
  });
  res.end(':\n\n');
});
server.listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
