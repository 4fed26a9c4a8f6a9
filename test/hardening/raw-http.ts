/**
 * Raw HTTP over a TCP socket, for requests no well-behaved client would send: garbage bytes, bad
 * framing, huge headers. Resolves with the status of the first response (0 if the server closed
 * without answering) once the server closes or has answered.
 */
import net from 'node:net';

export function rawRequest(port: number, bytes: string | Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const done = () => {
      socket.destroy();
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match === null ? 0 : Number(match[1]), text });
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      // One full response head is enough: bodies of error answers are short.
      if (text.includes('\r\n\r\n')) setImmediate(done);
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') done();
      else reject(error);
    });
    socket.write(bytes);
  });
}
