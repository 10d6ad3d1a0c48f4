// Checks the browser client's code against PROTOCOL.md's test vectors, in the browser, with
// WebCrypto. `window.runVectors(table, expectedFingerprint)` takes the vectors as { name: hex } (the
// harness reads them from the document) and resolves to [{ name, ok, detail }], also shown in the
// page's table.
import { concat, equalBytes, fromHex, hex, Reader } from "../lib/bytes.js";
import { checkValidity, deriveKeyUpdate, deriveSessionKeys, Direction, fingerprint, hkdf, KEY_UPDATE_INFO, nonce, sessionKeysInfo, sha256, verifyCertificate } from "../lib/crypto.js";
import { decodeFrame, encodeFrame } from "../lib/framing.js";
import { ClientHandshake, HandshakeFailure } from "../lib/handshake.js";
import { certificateBytes, parseHello } from "../lib/hello.js";
import { decodeServerMessage, encodeClientMessage } from "../lib/messages.js";
import { SessionMachine } from "../lib/session.js";

function expectBytes(actual, expected, what) {
  if (!equalBytes(actual, expected)) throw new Error(`${what}: got ${hex(actual)}, expected ${hex(expected)}`);
}

function expectEqual(actual, expected, what) {
  const a = JSON.stringify(actual, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
  const e = JSON.stringify(expected, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
  if (a !== e) throw new Error(`${what}: got ${a}, expected ${e}`);
}

async function expectThrows(promiseOrFunction, what) {
  try {
    await (typeof promiseOrFunction === "function" ? promiseOrFunction() : promiseOrFunction);
  } catch {
    return;
  }
  throw new Error(`${what} was accepted`);
}

function flipped(bytes, index) {
  const copy = bytes.slice();
  copy[index] ^= 0x01;
  return copy;
}

function u64(bytes) {
  return new Reader(bytes).u64();
}

function checks(v, expectedFingerprint) {
  const notBefore = u64(v.not_before);
  const notAfter = u64(v.not_after);
  const keysOf = () => deriveSessionKeys(v.secret, v.server_random, v.hello_payload);
  const directions = async () => {
    const keys = await keysOf();
    return {
      c2s: await Direction.create(keys.c2sKey, keys.c2sIv),
      s2c: await Direction.create(keys.s2cKey, keys.s2cIv),
    };
  };
  return {
    fingerprint: async () => expectEqual(await fingerprint(v.identity_spki), expectedFingerprint, "fingerprint"),
    transport_key_signed_bytes: async () => expectBytes(certificateBytes(v.transport_spki, notBefore, notAfter), v.transport_key_signed_bytes, "signed bytes"),
    transport_key_signature: async () => {
      await verifyCertificate(v.identity_spki, v.transport_key_signed_bytes, v.transport_key_signature);
      await expectThrows(verifyCertificate(v.identity_spki, v.transport_key_signed_bytes, flipped(v.transport_key_signature, 100)), "a changed signature");
      await expectThrows(verifyCertificate(v.identity_spki, flipped(v.transport_key_signed_bytes, 40), v.transport_key_signature), "changed signed bytes");
      await expectThrows(verifyCertificate(v.transport_spki, v.transport_key_signed_bytes, v.transport_key_signature), "the wrong key");
    },
    hello_payload: async () => {
      const hello = parseHello(v.hello_payload);
      expectBytes(hello.identitySpki, v.identity_spki, "identity key");
      expectBytes(hello.transportSpki, v.transport_spki, "transport key");
      expectEqual([hello.notBefore, hello.notAfter], [notBefore, notAfter], "validity window");
      expectBytes(hello.signature, v.transport_key_signature, "signature");
      expectBytes(hello.serverRandom, v.server_random, "server random");
      await expectThrows(() => parseHello(concat(v.hello_payload, Uint8Array.of(0))), "a hello with a trailing byte");
      await expectThrows(() => parseHello(v.hello_payload.slice(0, -1)), "a short hello");
    },
    hello_length_prefix: async () => {
      const frame = encodeFrame(v.hello_payload);
      expectBytes(frame.slice(0, 4), v.hello_length_prefix, "length prefix");
      expectBytes(decodeFrame(frame), v.hello_payload, "decoded frame");
    },
    hello_sha256: async () => expectBytes(await sha256(v.hello_payload), v.hello_sha256, "hello hash"),
    hkdf_info: async () => expectBytes(await sessionKeysInfo(v.hello_payload), v.hkdf_info, "HKDF info"),
    okm: async () => {
      expectBytes(await hkdf(v.secret, v.server_random, v.hkdf_info, 88), v.okm, "OKM");
      const keys = await keysOf();
      expectBytes(keys.okm, v.okm, "OKM from the key schedule");
    },
    session_keys: async () => {
      const keys = await keysOf();
      expectBytes(keys.c2sKey, v.c2s_key, "c2s_key");
      expectBytes(keys.s2cKey, v.s2c_key, "s2c_key");
      expectBytes(keys.c2sIv, v.c2s_iv, "c2s_iv");
      expectBytes(keys.s2cIv, v.s2c_iv, "s2c_iv");
    },
    nonces: async () => {
      expectBytes(nonce(v.c2s_iv, 0n), v.c2s_nonce_0, "c2s_nonce_0");
      expectBytes(nonce(v.c2s_iv, 1n), v.c2s_nonce_1, "c2s_nonce_1");
      expectBytes(nonce(v.c2s_iv, 2n), v.c2s_nonce_2, "c2s_nonce_2");
      expectBytes(nonce(v.s2c_iv, 0n), v.s2c_nonce_0, "s2c_nonce_0");
      expectBytes(nonce(v.s2c_iv, 1n), v.s2c_nonce_1, "s2c_nonce_1");
      expectBytes(nonce(v.s2c_iv, 0x0102030405060708n), v.s2c_nonce_0102030405060708, "s2c_nonce_0102030405060708");
    },
    message_payloads: async () => {
      expectEqual(decodeServerMessage(v.s2c_0_payload), { type: "passwordPrompt" }, "s2c_0_payload");
      expectBytes(encodeClientMessage({ type: "password", password: "correct horse battery staple" }), v.c2s_0_payload, "c2s_0_payload");
      expectEqual(decodeServerMessage(v.s2c_1_payload), { type: "namePrompt" }, "s2c_1_payload");
      expectBytes(encodeClientMessage({ type: "name", name: "Ada" }), v.c2s_1_payload, "c2s_1_payload");
      expectEqual(decodeServerMessage(v.s2c_2_payload), { type: "accepted", connectionId: 1n, serverName: "Laboratory", services: ["echo"] }, "s2c_2_payload");
      await expectThrows(() => decodeServerMessage(concat(v.s2c_2_payload, Uint8Array.of(0))), "accepted with a trailing byte");
      await expectThrows(() => decodeServerMessage(Uint8Array.of(0x17)), "an unknown type");
    },
    sealed_frames: async () => {
      // Sealing both directions as the sender would, and opening as the receiver would.
      const sender = await directions();
      const receiver = await directions();
      const order = [["s2c", 0], ["c2s", 0], ["s2c", 1], ["c2s", 1], ["s2c", 2]];
      for (const [direction, counter] of order) {
        const name = `${direction}_${counter}`;
        const sealed = encodeFrame(await sender[direction].seal(v[`${name}_payload`]));
        expectBytes(sealed, v[`${name}_frame`], `${name}_frame`);
        expectBytes(await receiver[direction].open(decodeFrame(v[`${name}_frame`])), v[`${name}_payload`], `${name} opened`);
      }
    },
    sealed_frame_tampering: async () => {
      const { s2c } = await directions();
      const frame = decodeFrame(v.s2c_0_frame);
      await expectThrows(s2c.open(flipped(frame, 0)), "a changed ciphertext");
      await expectThrows(s2c.open(flipped(frame, frame.length - 1)), "a changed tag");
      await expectThrows(s2c.open(frame.slice(0, 15)), "a frame shorter than its tag");
      await expectThrows(s2c.open(decodeFrame(v.s2c_1_frame)), "a frame out of order");
      expectBytes(await s2c.open(frame), v.s2c_0_payload, "the frame after failures (counter not advanced)");
      const { c2s } = await directions();
      await expectThrows(c2s.open(frame), "a frame reflected into the other direction");
    },
    handshake_machine: async () => {
      // The state machine, fed the vectors' frames, sends the vectors' frames.
      const machine = new ClientHandshake({ password: "correct horse battery staple", name: "Ada" });
      const now = Number(notBefore);
      const trust = await machine.receiveHello(v.hello_payload, now);
      expectEqual(trust, [{ type: "checkTrust", fingerprint: expectedFingerprint }], "trust question");
      const [exchange, install] = await machine.trustDecided(null, v.secret);
      expectEqual([exchange.type, exchange.payload.length, install.type], ["sendPlaintext", 256, "installKeys"], "key exchange actions");
      expectBytes(install.keys.c2sKey, v.c2s_key, "installed c2s_key");
      const send = await Direction.create(install.keys.c2sKey, install.keys.c2sIv);
      const receive = await Direction.create(install.keys.s2cKey, install.keys.s2cIv);
      const step = async (frameName, expectedFrame) => {
        const actions = machine.receive(decodeServerMessage(await receive.open(decodeFrame(v[frameName]))));
        if (expectedFrame === null) return actions;
        expectEqual(actions.map((a) => a.type), ["send"], `${frameName} actions`);
        expectBytes(encodeFrame(await send.seal(encodeClientMessage(actions[0].message))), v[expectedFrame], expectedFrame);
        return actions;
      };
      await step("s2c_0_frame", "c2s_0_frame");
      await step("s2c_1_frame", "c2s_1_frame");
      const accepted = await step("s2c_2_frame", null);
      expectEqual(accepted, [{ type: "accepted", acceptance: { connectionId: 1n, serverName: "Laboratory", services: ["echo"] } }], "acceptance");
      expectEqual(machine.phase, "accepted", "final phase");
    },
    handshake_refuses: async () => {
      const expectFailure = async (run, kind, what) => {
        try {
          await run();
        } catch (error) {
          if (error instanceof HandshakeFailure && error.kind === kind) return;
          throw new Error(`${what}: expected a ${kind} failure, got ${error}`);
        }
        throw new Error(`${what} was accepted`);
      };
      const fresh = () => new ClientHandshake({ password: "p", name: "Ada" });
      const late = Number(notAfter) + 600_000 + 1;
      await expectFailure(() => fresh().receiveHello(v.hello_payload, late), "badCertificate", "an expired transport key");
      await expectFailure(() => fresh().receiveHello(v.hello_payload, Number(notBefore) - 600_001), "badCertificate", "a transport key not valid yet");
      const forged = v.hello_payload.slice();
      forged[forged.length - 32 - 50] ^= 1; // inside the signature
      await expectFailure(() => fresh().receiveHello(forged, Number(notBefore)), "badCertificate", "a forged signature");
      await expectFailure(async () => {
        const machine = fresh();
        await machine.receiveHello(v.hello_payload, Number(notBefore));
        await machine.trustDecided("pinned SHA256:x, offered SHA256:y", v.secret);
      }, "untrustedKey", "an untrusted identity key");
      checkValidity(notBefore, notAfter, Number(notAfter) + 600_000, 600_000);
    },
    unsealed_frames: async () => {
      expectBytes(encodeFrame(new Uint8Array(0)), v.plaintext_key_exchange_frame, "plaintext key exchange");
      expectBytes(encodeFrame(encodeClientMessage({ type: "request", id: 1n, service: "echo", body: new TextEncoder().encode("hi") })), v.request_frame, "request_frame");
      const response = decodeServerMessage(decodeFrame(v.response_frame));
      expectEqual([response.type, response.requestId, response.status, response.errorMessage, hex(response.body)], ["response", 1n, 0, "", "6869"], "response_frame");
      expectEqual(decodeServerMessage(decodeFrame(v.closing_frame)), { type: "closing", code: 6, message: "wrong password" }, "closing_frame");
    },
    refusal_frame: async () => {
      // A locked-out source's refusal, instead of the hello: code 15 with retry_ms after the message.
      const payload = decodeFrame(v.refusal_frame);
      const message = "too many failures from your address; try again in 4m 30s";
      expectEqual(decodeServerMessage(payload), { type: "closing", code: 15, message, retryMs: 270000 }, "decoded refusal");
      const machine = new ClientHandshake({ password: "p", name: "Ada" });
      try {
        await machine.receiveHello(payload, Date.now());
        throw new Error("the refusal was taken for a hello");
      } catch (error) {
        if (!(error instanceof HandshakeFailure)) throw error;
        expectEqual([error.kind, error.closing], ["closedByServer", { code: 15, message, retryMs: 270000 }], "refusal");
      }
      // Without retry_ms it is accepted too; retry_ms 0, a short retry_ms, a byte more, and
      // retry_ms on any other code are malformed (§9, Admission).
      const bare = payload.slice(0, -4);
      expectEqual(decodeServerMessage(bare), { type: "closing", code: 15, message }, "a refusal without retry_ms");
      await expectThrows(() => decodeServerMessage(concat(bare, Uint8Array.of(0, 0, 0, 0))), "retry_ms 0");
      await expectThrows(() => decodeServerMessage(payload.slice(0, -1)), "a retry_ms of 3 bytes");
      await expectThrows(() => decodeServerMessage(concat(payload, Uint8Array.of(0))), "a byte after retry_ms");
      const other = decodeFrame(v.closing_frame); // code 6
      await expectThrows(() => decodeServerMessage(concat(other, payload.slice(-4))), "retry_ms on code 6");
      const wrongCode = bare.slice();
      wrongCode[2] = 16; // code 16 with the same retry_ms
      await expectThrows(() => decodeServerMessage(concat(wrongCode, payload.slice(-4))), "retry_ms on code 16");
      const badMachine = new ClientHandshake({ password: "p", name: "Ada" });
      try {
        await badMachine.receiveHello(concat(payload, Uint8Array.of(0)), Date.now());
      } catch (error) {
        expectEqual(error.kind, "protocolViolation", "a malformed refusal");
        return;
      }
      throw new Error("a malformed refusal was accepted");
    },
    name_rejected_frame: async () => {
      const payload = decodeFrame(v.name_rejected_frame);
      const decoded = decodeServerMessage(payload);
      expectEqual(decoded, { type: "nameRejected", reason: "display name is empty", attemptsLeft: 2 }, "decoded nameRejected");
      await expectThrows(() => decodeServerMessage(payload.slice(0, -1)), "a nameRejected without attempts_left");
      await expectThrows(() => decodeServerMessage(concat(payload, Uint8Array.of(0))), "a nameRejected with a byte more");
      // The machine, fed it after its name, asks for another and sends exactly one name for it.
      const machine = new ClientHandshake({ password: "p", name: "" });
      machine.state = { phase: "awaitingAcceptance" };
      expectEqual(machine.receive(decoded), [{ type: "nameRejected", reason: "display name is empty", attemptsLeft: 2 }], "actions");
      expectEqual(machine.phase, "awaitingNewName", "phase after nameRejected");
      const [send] = machine.retryName("Ada");
      expectBytes(encodeClientMessage(send.message), fromHex("820003416461"), "the new name's payload");
      expectBytes(encodeClientMessage(send.message), v.c2s_1_payload, "c2s_1_payload");
    },
    key_update: async () => {
      expectBytes(encodeClientMessage({ type: "keyUpdate", secret: v.key_update_secret, requestUpdate: true }), v.c2s_2_payload, "c2s_2_payload");
      expectBytes(new TextEncoder().encode("laboratory v1 key update"), v.key_update_info, "key_update_info");
      expectBytes(KEY_UPDATE_INFO, v.key_update_info, "KEY_UPDATE_INFO");
      const update = await deriveKeyUpdate(v.key_update_secret, v.c2s_key);
      expectBytes(update.okm, v.key_update_okm, "key_update_okm");
      expectBytes(update.key, v.updated_c2s_key, "updated_c2s_key");
      expectBytes(update.iv, v.updated_c2s_iv, "updated_c2s_iv");
    },
    key_update_frames: async () => {
      // The client's side: seal the update at counter 2, switch, seal ping(1) at counter 0 under
      // the new key; then the server's side opens both, switching in between.
      const send = (await directions()).c2s;
      await send.seal(v.c2s_0_payload);
      await send.seal(v.c2s_1_payload);
      const machine = new SessionMachine({ connectionId: 1n, serverName: "Laboratory", services: ["echo"] });
      const [update] = machine.rekey(v.key_update_secret);
      expectEqual([update.type, update.requestUpdate], ["sendKeyUpdate", true], "rekey action");
      expectBytes(encodeFrame(await send.seal(encodeClientMessage({ type: "keyUpdate", secret: update.secret, requestUpdate: true }))), v.c2s_2_frame, "c2s_2_frame");
      await send.update(update.secret);
      expectBytes(send.key, v.updated_c2s_key, "sender's new key");
      const ping = machine.ping();
      expectBytes(encodeClientMessage(ping.actions[0].message), v.updated_c2s_0_payload, "updated_c2s_0_payload");
      expectBytes(encodeFrame(await send.seal(v.updated_c2s_0_payload)), v.updated_c2s_0_frame, "updated_c2s_0_frame");
      const open = (await directions()).c2s;
      await open.open(decodeFrame(v.c2s_0_frame));
      await open.open(decodeFrame(v.c2s_1_frame));
      expectBytes(await open.open(decodeFrame(v.c2s_2_frame)), v.c2s_2_payload, "update opened");
      await expectThrows(open.open(decodeFrame(v.updated_c2s_0_frame)), "the next frame under the old key");
      await open.update(v.key_update_secret);
      expectBytes(await open.open(decodeFrame(v.updated_c2s_0_frame)), v.updated_c2s_0_payload, "updated frame opened");
    },
    key_update_request_answered: async () => {
      // A server's keyUpdate with request_update = 1 is applied, then answered with request_update = 0.
      const machine = new SessionMachine({ connectionId: 1n, serverName: "Laboratory", services: [] });
      const answer = new Uint8Array(32).fill(7);
      const actions = machine.receive({ type: "keyUpdate", secret: v.key_update_secret, requestUpdate: true }, () => answer);
      expectEqual(actions.map((a) => [a.type, a.requestUpdate ?? null]), [["updateReceiveKey", null], ["sendKeyUpdate", false]], "actions");
      expectEqual(machine.receive({ type: "keyUpdate", secret: v.key_update_secret, requestUpdate: false }, () => answer).map((a) => a.type), ["updateReceiveKey"], "an unrequested update is not answered");
      expectEqual(machine.receive({ type: "ping", value: 9n }, () => answer), [{ type: "send", message: { type: "pong", value: 9n } }], "ping answered");
    },
  };
}

async function runVectors(table, expectedFingerprint) {
  const v = Object.fromEntries(Object.entries(table).map(([name, value]) => [name, fromHex(value)]));
  const results = [];
  for (const [name, check] of Object.entries(checks(v, expectedFingerprint))) {
    try {
      await check();
      results.push({ name, ok: true, detail: "" });
    } catch (error) {
      results.push({ name, ok: false, detail: String(error?.stack ?? error) });
    }
  }
  show(results);
  return results;
}

function show(results) {
  const body = document.getElementById("results");
  body.replaceChildren();
  for (const result of results) {
    const row = document.createElement("tr");
    row.dataset.check = result.name;
    row.dataset.ok = String(result.ok);
    for (const text of [result.name, result.ok ? "pass" : "FAIL", result.detail]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    body.append(row);
  }
  const failed = results.filter((r) => !r.ok).length;
  document.getElementById("summary").textContent = `${results.length - failed} of ${results.length} checks passed`;
}

window.runVectors = runVectors;
window.vectorsReady = true;
