"""Exceptions shared by the Python side of fastdhcp.

``ConfigError`` is raised by ``fastdhcp.config`` when a Kea ``Dhcp4`` configuration cannot be used.
It carries every problem found, not only the first, each as a ``Problem`` naming where (the JSON
path, ``Dhcp4.subnet4[0].pools[1]``, or ``file:line:col`` for a syntax error) and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["ConfigError", "Problem"]


class Problem(NamedTuple):
    """One finding about a configuration: where it is and what is wrong (or worth knowing)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ConfigError(Exception):
    """A configuration that cannot be used. ``problems`` lists every error, in the order found;
    ``warnings`` holds what was found besides (so that a checker can show both)."""

    def __init__(self, problems: Iterable[Problem], *, source: str = "<string>",
                 warnings: Iterable[Problem] = ()) -> None:
        self.problems: list[Problem] = list(problems)
        self.warnings: list[Problem] = list(warnings)
        self.source = source
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
