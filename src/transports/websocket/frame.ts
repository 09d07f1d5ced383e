/**
 * RFC 6455 framing of what Herald sends. Server-to-client frames are never masked (§5.1) and every
 * Pusher message is one final text frame, so a frame is a 2, 4 or 10 byte header and the UTF-8 text;
 * the other frame Herald builds is the pong answering a client's ping.
 */
import type { OutboundMessage } from '../../channels/transport.js';

/** Builds an unmasked, final text frame (RFC 6455 §5.2) around UTF-8 `text`. */
export function frameText(text: string): Buffer {
  const length = Buffer.byteLength(text);
  // 7-bit length up to 125; 126 + 16-bit length up to 65535; 127 + 64-bit length beyond.
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN + opcode 1 (text)
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    // Frames stay far below 4 GB (maxPayload, message size limits): the high 32 bits are zero.
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(length, 6);
  }
  frame.write(text, header, 'utf8');
  return frame;
}

/** The largest payload of a control frame (RFC 6455 §5.5): it always fits the 7-bit length. */
const MAX_CONTROL_PAYLOAD = 125;

/** The pong answering a ping (RFC 6455 §5.5.3): the ping's payload echoed, at most 125 bytes. */
export function framePong(payload: Buffer): Buffer {
  const length = Math.min(payload.length, MAX_CONTROL_PAYLOAD);
  const frame = Buffer.allocUnsafe(2 + length);
  frame[0] = 0x8a; // FIN + opcode 10 (pong)
  frame[1] = length;
  payload.copy(frame, 2, 0, length);
  return frame;
}

/**
 * The message's frame, built by the first recipient and cached on the message: a broadcast is
 * framed once, and every recipient socket is written the same Buffer.
 */
export function frameOf(message: OutboundMessage): Buffer {
  let frame = message.wire as Buffer | undefined;
  if (frame === undefined) {
    frame = frameText(message.text);
    message.wire = frame;
  }
  return frame;
}
