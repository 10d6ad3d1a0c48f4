// Frames (PROTOCOL.md §3). Over TCP a frame is a u32 length and the payload; over the WebSocket
// gateway each binary message is one payload without the prefix, so the browser client only needs
// the sizes. `encodeFrame` / `decodeFrame` exist for the test vectors, which are TCP frames.
import { ProtocolError, Writer } from "./bytes.js";

/** The largest payload the client accepts from the server (the reference default, 1 MiB). */
export const MAX_PAYLOAD = 1_048_576;
/** The largest frame a client may send before it has received `accepted` (§3). */
export const MAX_HANDSHAKE_PAYLOAD = 4096;

export function encodeFrame(payload) {
  return new Writer().u32(payload.length).raw(payload).finish();
}

/** The payload of one complete TCP frame (prefix and exactly that many bytes). */
export function decodeFrame(frame, maxPayload = MAX_PAYLOAD) {
  if (frame.length < 4) throw new ProtocolError("a frame shorter than its length prefix");
  const length = new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0);
  if (length > maxPayload) throw new ProtocolError(`frame of ${length} bytes exceeds the maximum of ${maxPayload}`);
  if (frame.length !== 4 + length) throw new ProtocolError("the frame's length prefix does not match its payload");
  return frame.slice(4);
}
