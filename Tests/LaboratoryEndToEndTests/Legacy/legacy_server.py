"""A tiny server in the original prototype's wire format, written from its description with the
`rsa` package, for testing the Swift client's legacy mode. `legacy_server.py PASSWORD NAME`
listens on a free port on 127.0.0.1, prints `PORT <n>`, serves clients one at a time, and stops
(sending `STOP SERVER`) when a client sends `QUIT FIXTURE`.
"""
import socket
import sys

import rsa

password, server_name = sys.argv[1], sys.argv[2]
public_key, private_key = rsa.newkeys(1024)
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
print(f"PORT {listener.getsockname()[1]}", flush=True)


def serve(conn):
    pending = b""

    def receive():
        nonlocal pending
        while b"\0" not in pending:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            pending += chunk
        message, _, pending = pending.partition(b"\0")
        return message.decode()

    def send(text):
        conn.sendall(text.encode() + b"\0")

    conn.sendall(public_key.save_pkcs1())
    ciphertext = b""
    while len(ciphertext) < 128:
        chunk = conn.recv(128 - len(ciphertext))
        if not chunk:
            return True
        ciphertext += chunk
    rsa.decrypt(ciphertext, private_key)  # the key; the identity transform ignores it
    send("PASSWORD ?")
    if receive() != password:
        return True
    send("NAME ?")
    name = receive()
    if name is None:
        return True
    send("ACCEPTED")
    while True:
        message = receive()
        if message is None:
            return True
        if message == "NAME ?":
            send(server_name)
        elif message == "QUIT FIXTURE":
            send("STOP SERVER")
            return False
        else:
            send(f'I received "{message}" from you.')


while True:
    connection, _ = listener.accept()
    with connection:
        if not serve(connection):
            break
