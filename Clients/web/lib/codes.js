// Close codes and response statuses (PROTOCOL.md §14). Both are open sets: unknown values are shown
// by number.

export const CloseCode = Object.freeze({
  normal: 1, protocolViolation: 2, frameTooLarge: 3, decryptionFailed: 4, handshakeTimeout: 5,
  wrongPassword: 6, invalidName: 7, plaintextNotAllowed: 8, serverStopping: 9, internalError: 10,
  unsupportedVersion: 11, peerClosed: 12, slowConsumer: 13, keyExhausted: 14, refused: 15, idleTimeout: 16,
  kicked: 17,
});

const closeNames = {
  1: "normal", 2: "protocol violation", 3: "frame too large", 4: "decryption failed",
  5: "handshake timeout", 6: "wrong password", 7: "invalid name", 8: "plaintext not allowed",
  9: "server stopping", 10: "internal error", 11: "unsupported version", 12: "peer closed",
  13: "slow consumer", 14: "key exhausted", 15: "refused", 16: "idle timeout", 17: "kicked",
};

export function closeCodeName(code) {
  return closeNames[code] ?? `code ${code}`;
}

export const Status = Object.freeze({ ok: 0, unknownService: 1, serviceError: 2, internalError: 3, rejected: 4 });

/** Whether a session that ended with this close code is worth reconnecting automatically: the
 * server stopped, refused for now, or the connection went; not a wrong password, a bad name,
 * anything that would fail the same way again, nor a kick (code 17: final, §12, a client MUST NOT
 * reconnect after it). */
export function isRetryable(code) {
  return [CloseCode.serverStopping, CloseCode.internalError, CloseCode.peerClosed, CloseCode.slowConsumer,
    CloseCode.refused, CloseCode.idleTimeout, CloseCode.handshakeTimeout].includes(code);
}
