"""A local SMTP sink (aiosmtpd on 127.0.0.1) for tests, the bench and reliability runs.

It keeps every message it accepted, can be stopped and started again on the same
port (a mail server that goes down), and refuses with 550 any recipient whose
address contains "bounce" (a hard bounce).
"""

from __future__ import annotations

import re
import socket
import threading
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "bounce" in address:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            self.sink.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[Message] = []
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    def start(self) -> SmtpSink:
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def recipients(self) -> list[str]:
        with self.lock:
            return [m["To"] for m in self.messages]


_CAMPAIGN_HEADER = re.compile(rb"^X-Campaign-Message: *([0-9.]+)", re.MULTILINE)


class _FileHandler(_Handler):
    """Appends each accepted message's recipients and subject to a file, one line each."""

    def __init__(self, path: str) -> None:
        self.out = open(path, "a", encoding="utf-8")  # noqa: SIM115  (lives with the process)

    async def handle_DATA(self, server, session, envelope):
        # Only the one header the runs count by (a full parse would slow the sink).
        found = _CAMPAIGN_HEADER.search(envelope.content)
        tag = found.group(1).decode() if found else ""
        for rcpt in envelope.rcpt_tos:
            self.out.write(f"{rcpt}\t{tag}\n")
        self.out.flush()
        return "250 Message accepted for delivery"


def main() -> None:
    """`python -m tests.smtp_sink --port P --out FILE`: a sink in its own process."""
    import argparse
    import signal
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    controller = Controller(_FileHandler(args.out), hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    while not stop.is_set():
        time.sleep(0.1)
    controller.stop()


if __name__ == "__main__":
    main()
