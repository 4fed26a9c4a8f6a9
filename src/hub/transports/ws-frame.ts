/**
 * Server-to-client WebSocket frames built once and written as-is to every socket: ws frames the
 * bytes (RFC 6455 section 5.2; a server never masks), the hub keeps header and payload as one buffer.
 */
import * as ws from 'ws';

/** ws's frame builder (lib/sender.js), exported by ws but not described by @types/ws. */
interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };

const OPCODE_TEXT = 0x1;
const OPCODE_PING = 0x9;

function frame(payload: Buffer, opcode: number): Buffer {
  const parts = Sender.frame(payload, {
    fin: true,
    rsv1: false,
    opcode,
    mask: false,
    readOnly: false,
  });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** One complete unmasked text frame carrying `payload` (UTF-8 JSON). */
export function textFrame(payload: Buffer): Buffer {
  return frame(payload, OPCODE_TEXT);
}

/** An empty ping frame: the WebSocket heartbeat, built once. */
export const PING_FRAME: Buffer = frame(Buffer.alloc(0), OPCODE_PING);
