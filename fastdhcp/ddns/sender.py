"""NameChangeRequests to kea-dhcp-ddns over UDP, as Kea's NameChangeUDPSender sends them: one
request per datagram from sender-ip:sender-port to server-ip:server-port. The engine queues
them natively (bounded by max-queue-size: past it they are counted as dropped); the server
drains the queue between batches, a slice at a time, so a slow or stopped D2 never holds up a
packet. The socket is connected, so a stopped D2's ICMP port-unreachable shows up as a failed
send (counted) rather than as nothing at all."""

from __future__ import annotations

import errno
import logging
import socket
import time

from .ncr import NameChange, to_wire

log = logging.getLogger("fastdhcp.ddns")

SEND_SLICE = 256          # requests per drain: the loop goes back to packets after them
RETRY_AFTER = 1.0         # seconds without sending after a refused send


class NameChangeSender:
    def __init__(self, server_ip: str = "127.0.0.1", server_port: int = 53001,
                 sender_ip: str = "0.0.0.0", sender_port: int = 0):
        self.server = (server_ip, server_port)
        self.local = (sender_ip, sender_port)
        self.sock: socket.socket | None = None
        self.sent = 0
        self.failed = 0           # sends refused (D2 not listening, buffer full ...): retried
        self.last_error = ""
        self.held: NameChange | None = None   # the request a refused send keeps for the retry
        self.paused_until = 0.0

    @classmethod
    def from_config(cls, ddns) -> "NameChangeSender":
        return cls(ddns.server_ip, ddns.server_port, ddns.sender_ip, ddns.sender_port)

    def open(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.setblocking(False)
            s.bind(self.local)
            s.connect(self.server)
        except OSError:
            s.close()
            raise
        self.sock = s
        log.info("DHCPSRV_DHCP_DDNS_SENDER_STARTED NameChangeRequest sender has been started: "
                 "sending to %s:%d", *self.server)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def drain(self, engine, most: int = SEND_SLICE) -> int:
        """Send up to ``most`` queued requests; returns how many left the queue. After a
        refused send (D2 not there: the ICMP error of an earlier datagram), the request is kept
        and sending pauses for RETRY_AFTER: meanwhile the engine's queue fills, and what does
        not fit is counted as dropped there."""
        if self.sock is None or time.monotonic() < self.paused_until:
            return 0
        done = 0
        if self.held is not None:
            if not self._send(self.held):
                return 0
            self.held = None
            done += 1
        for item in engine.take_name_changes(most - done):
            c = NameChange._make(item)
            if not self._send(c):
                self.held = c                 # (one request waits here; the rest in the queue)
                break
            done += 1
        return done

    def _send(self, c: NameChange) -> bool:
        try:
            self.sock.send(to_wire(c))
        except (BlockingIOError, ConnectionRefusedError, OSError) as e:
            self.failed += 1
            self.paused_until = time.monotonic() + RETRY_AFTER
            why = errno.errorcode.get(e.errno, str(e)) if e.errno else str(e)
            if why != self.last_error:
                log.warning("DHCP4_DDNS_REQUEST_SEND_FAILED error sending a request to "
                            "kea-dhcp-ddns at %s:%d: %s (retrying in %.0f s)", *self.server, why,
                            RETRY_AFTER)
            self.last_error = why
            return False
        self.sent += 1
        self.last_error = ""
        return True

    def counts(self, engine) -> dict[str, int]:
        queued, dropped, waiting = engine.name_change_counts()
        return {"ncr-queued": queued, "ncr-dropped": dropped,
                "ncr-waiting": waiting + (self.held is not None), "ncr-sent": self.sent,
                "ncr-send-failed": self.failed}
