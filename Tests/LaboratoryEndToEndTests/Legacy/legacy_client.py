"""A client for the original prototype's wire format, written from its description, using the
`rsa` package as the prototype did. Run by LegacyPrototypeTests.swift: `legacy_client.py SCENARIO PORT
PASSWORD`; prints `OK` and exits 0 when the scenario's expectations hold, else prints why and
exits 1.

The format: the server sends its RSA public key as PKCS#1 PEM, unframed; the client replies with
its symmetric key (UTF-8, possibly empty) encrypted with RSA PKCS#1 v1.5; from then on every
message is UTF-8 text terminated by NUL, through the (identity) transform.
"""
import socket
import sys
import time

import rsa

HOST = "127.0.0.1"


class Legacy:
    def __init__(self, port, timeout=30.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.pending = b""

    def read_key(self):
        data = b""
        while b"-----END RSA PUBLIC KEY-----" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError("closed before the key")
            data += chunk
        end = data.index(b"-----END RSA PUBLIC KEY-----") + len(b"-----END RSA PUBLIC KEY-----")
        return rsa.PublicKey.load_pkcs1(data[:end] + b"\n")

    def send_key(self, public_key, key=""):
        self.sock.sendall(rsa.encrypt(key.encode(), public_key))

    def send(self, text):
        self.sock.sendall(text.encode() + b"\0")

    def receive(self):
        """The next message, or None when the server closed the connection."""
        while b"\0" not in self.pending:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.pending += chunk
        message, _, self.pending = self.pending.partition(b"\0")
        return message.decode()

    def expect(self, text):
        got = self.receive()
        if got != text:
            raise AssertionError(f"expected {text!r}, got {got!r}")

    def handshake(self, password, name="pyclient"):
        self.send_key(self.read_key())
        self.expect("PASSWORD ?")
        self.send(password)
        self.expect("NAME ?")
        self.send(name)
        self.expect("ACCEPTED")


def scenario_echo(port, password):
    client = Legacy(port)
    client.handshake(password)
    client.send("hello")
    client.expect('I received "hello" from you.')
    client.send("NAME ?")
    name = client.receive()
    if not name:
        raise AssertionError("no server name")
    print(f"server name: {name}")


def scenario_batched(port, password):
    client = Legacy(port)
    client.handshake(password)
    client.sock.sendall(b"one\0two\0three\0")
    for word in ("one", "two", "three"):
        client.expect(f'I received "{word}" from you.')


def scenario_split(port, password):
    client = Legacy(port)
    client.handshake(password)
    client.sock.sendall("spl".encode())
    time.sleep(0.2)
    client.sock.sendall("it é\0".encode())
    client.expect('I received "split é" from you.')


def scenario_wrong_password(port, password):
    client = Legacy(port)
    client.send_key(client.read_key())
    client.expect("PASSWORD ?")
    client.send(password + " but wrong")
    got = client.receive()
    if got is not None:
        raise AssertionError(f"expected the server to close, got {got!r}")


def scenario_timeout(port, password):
    client = Legacy(port)
    client.read_key()
    start = time.monotonic()
    got = client.receive()
    elapsed = time.monotonic() - start
    if got is not None:
        raise AssertionError(f"expected a close, got {got!r}")
    if not 0.5 <= elapsed <= 15:
        raise AssertionError(f"closed after {elapsed:.2f} s, expected about the 1 s step timeout")
    print(f"closed after {elapsed:.2f} s")


def scenario_stop_server_ignored(port, password):
    client = Legacy(port)
    client.handshake(password)
    client.send("STOP SERVER")
    client.send("still there?")
    client.expect('I received "still there?" from you.')


def scenario_shutdown(port, password):
    client = Legacy(port, timeout=60)
    client.handshake(password)
    print("READY", flush=True)
    client.expect("STOP SERVER")
    if client.receive() is not None:
        raise AssertionError("the connection stayed open after STOP SERVER")


def scenario_chat(port, password):
    client = Legacy(port)
    client.handshake(password, name="legacy-ann")
    client.send("/join lobby")
    # The room announces us (an event) before the command's own reply.
    lines = [client.receive(), client.receive()]
    if "* legacy-ann joined lobby" not in lines or not any(
        line and line.startswith("* you joined lobby") for line in lines
    ):
        raise AssertionError(f"unexpected join lines {lines!r}")
    print("READY", flush=True)
    # The Swift v1 client says something; we answer in the room.
    while True:
        line = client.receive()
        if line is None:
            raise AssertionError("closed while waiting for the v1 client")
        if line.startswith("[lobby] swift-sam: "):
            break
    client.send("hello from the prototype")
    while True:
        line = client.receive()
        if line == "[lobby] legacy-ann: hello from the prototype":
            return


SCENARIOS = {name[len("scenario_"):]: f for name, f in globals().items() if name.startswith("scenario_")}

if __name__ == "__main__":
    scenario, port, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    try:
        SCENARIOS[scenario](port, password)
    except Exception as error:  # noqa: BLE001 - report any failure to the Swift test
        print(f"FAIL {scenario}: {error!r}", flush=True)
        sys.exit(1)
    print("OK", flush=True)
