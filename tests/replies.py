"""A reply as the tests read it: the decoded message, where it went, and its options by type.
Shared by the engine's unit tests and the end-to-end tests (pytest puts tests/ on sys.path)."""

import socket
import struct


class Reply:
    def __init__(self, pkt, **where):
        self.pkt = pkt
        self.__dict__.update(where)       # src, dst (the IP destination), port: as the test saw it

    def opt(self, code):
        return self.pkt.option(code)

    def opt_ip(self, code):
        v = self.opt(code)
        return None if v is None else socket.inet_ntoa(v[:4])

    def opt_u32(self, code):
        v = self.opt(code)
        return None if v is None else struct.unpack("!I", v)[0]
