"""What the shared enums do beyond their values. The members come from the native core's .pxd
files (generated into fastdhcp/_enums.py); the behaviour Python adds to them is written here."""

from __future__ import annotations

import enum


class DropReasonBase(enum.IntEnum):
    @property
    def label(self) -> str:
        """Kebab-case name used in JSON output and statistics."""
        return self.name.lower().replace("_", "-")


class QuirkBase(enum.IntFlag):
    pass


class MsgTypeBase(enum.IntEnum):
    pass


class LeaseStateBase(enum.IntEnum):
    @property
    def kea_state(self) -> int:
        """Kea's memfile state column: 0 default, 1 declined, 2 expired-reclaimed. Kea deletes
        released leases; their row is Kea's removal marker (state 0, valid_lifetime 0)."""
        return {"DECLINED": 1, "EXPIRED": 2}.get(self.name, 0)


class DurabilityBase(enum.IntEnum):
    @classmethod
    def named(cls, name: str):
        """The mode that ``--durability NAME`` (none, write, fsync) selects."""
        return cls[name.upper()]


class EngineEventBase(enum.IntEnum):
    pass


class ClassOpBase(enum.IntEnum):
    pass
