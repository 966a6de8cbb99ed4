"""Kea's loggers on Python's logging: ``kea-dhcp4`` is the ``fastdhcp`` logger, ``kea-dhcp4.X``
is ``fastdhcp.X``; Kea's severities and debug levels, its outputs (stdout, stderr, syslog, rotated
files) and its log4cplus patterns (``KeaFormatter``)."""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:      # (the config package reads this module's names: no import cycle)
    from .config.schema import LoggerConfig, OutputOptionConfig

__all__ = ["LOGGER_ROOT", "KeaFormatter", "configure_logging", "logging_level",
           "python_logger_name", "reset_logging"]

KEA_ROOT = "kea-dhcp4"
LOGGER_ROOT = "fastdhcp"
SEVERITIES = ("FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "NONE")
_LEVELS = {"FATAL": logging.CRITICAL, "ERROR": logging.ERROR, "WARN": logging.WARNING,
           "WARNING": logging.WARNING, "INFO": logging.INFO, "DEBUG": logging.DEBUG,
           "NONE": logging.CRITICAL + 10}
_KEA_LEVEL_NAMES = {logging.CRITICAL: "FATAL", logging.ERROR: "ERROR", logging.WARNING: "WARN",
                    logging.INFO: "INFO"}
_DEFAULT_PATTERN = "%D{%Y-%m-%d %H:%M:%S.%q} %-5p [%c/%i.%t] %m\n"
_SYSLOG_PATTERN = "%-5p [%c.%t] %m\n"


def python_logger_name(kea_name: str) -> str:
    """``kea-dhcp4`` (or ``*``) -> ``fastdhcp``; ``kea-dhcp4.leases`` -> ``fastdhcp.leases``."""
    if kea_name in ("*", KEA_ROOT):
        return LOGGER_ROOT
    return LOGGER_ROOT + kea_name[len(KEA_ROOT):]


def kea_logger_name(python_name: str) -> str:
    """``fastdhcp`` -> ``kea-dhcp4``; ``fastdhcp.leases`` -> ``kea-dhcp4.leases`` (as Kea's %c)."""
    if python_name == LOGGER_ROOT or python_name.startswith(LOGGER_ROOT + "."):
        return KEA_ROOT + python_name[len(LOGGER_ROOT):]
    return python_name


def logging_level(severity: str, debuglevel: int = 0) -> int:
    """Kea severity -> a ``logging`` level. Kea's debug levels 0..99 map below ``DEBUG``:
    debuglevel d is level ``DEBUG - d // 10`` (so 0..9 is DEBUG, 99 is DEBUG - 9), which lets
    fastdhcp modules log their most detailed traces at ``DEBUG - n``."""
    sev = severity.upper()
    if sev == "DEBUG":
        return max(1, logging.DEBUG - min(max(debuglevel, 0), 99) // 10)
    return _LEVELS.get(sev, logging.INFO)


class KeaFormatter(logging.Formatter):
    """Formats records with a log4cplus pattern as Kea's ``pattern`` option uses it: ``%d{..}``
    / ``%D{..}`` (strftime, plus ``%q`` ms and ``%Q`` µs), ``%p`` severity, ``%c`` logger,
    ``%i`` pid, ``%t`` thread, ``%m`` message, ``%n`` newline, ``%%``; widths like ``%-5p``."""

    _TOKEN = re.compile(r"%(-?\d*)(?:([dD])\{([^}]*)\}|([pcitmnd%]))")

    def __init__(self, pattern: str = "") -> None:
        super().__init__()
        pattern = pattern or _DEFAULT_PATTERN
        self.pattern = pattern.removesuffix("\n")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()

        def sub(m):
            width, date_kind, date_fmt, conv = m.groups()
            if date_kind:
                value = self._date(record, date_fmt)
            elif conv == "d":
                value = self._date(record, "%Y-%m-%d %H:%M:%S")
            elif conv == "p":
                value = _KEA_LEVEL_NAMES.get(record.levelno, "DEBUG")
            elif conv == "c":        # Kea's name for the logger: tools parse it
                value = kea_logger_name(record.name)
            elif conv == "i":
                value = str(record.process)
            elif conv == "t":
                value = str(record.thread)
            elif conv == "m":
                value = record.message
            elif conv == "n":
                value = "\n"
            else:
                value = "%"
            if width:
                n = int(width)
                value = value.ljust(-n) if n < 0 else value.rjust(n)
            return value
        text = self._TOKEN.sub(sub, self.pattern)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text

    @staticmethod
    def _date(record: logging.LogRecord, fmt: str) -> str:
        fmt = (fmt.replace("%q", f"{int(record.msecs):03d}")
               .replace("%Q", f"{record.msecs:07.3f}"))
        return time.strftime(fmt, time.localtime(record.created))


_INSTALLED: list[tuple[logging.Logger, logging.Handler]] = []
_TOUCHED: set[str] = set()
_INSTALL_LOCK = threading.Lock()


def _handler(o: OutputOptionConfig) -> logging.Handler:
    out = o.output
    if out == "stdout":
        h: logging.Handler = logging.StreamHandler(sys.stdout)
    elif out == "stderr":
        h = logging.StreamHandler(sys.stderr)
    elif out == "syslog" or out.startswith("syslog:"):
        ident = out.partition(":")[2] or KEA_ROOT
        address: Any = "/dev/log" if os.path.exists("/dev/log") else ("localhost", 514)
        h = logging.handlers.SysLogHandler(address=address)
        h.ident = f"{ident}: "
        h.setFormatter(KeaFormatter(o.pattern or _SYSLOG_PATTERN))
        return h
    else:
        # Kea rotates at maxsize bytes (below 204800 disables rotation) keeping maxver files.
        rotate = o.maxsize if o.maxsize >= 204800 else 0
        h = logging.handlers.RotatingFileHandler(out, maxBytes=rotate,
                                                 backupCount=max(o.maxver, 1), encoding="utf-8")
    h.setFormatter(KeaFormatter(o.pattern))
    return h


def configure_logging(loggers: Iterable[LoggerConfig], *, verbose: bool = False) -> None:
    """Set up Python ``logging`` from Kea ``loggers``: ``kea-dhcp4`` is the ``fastdhcp`` logger,
    ``kea-dhcp4.X`` is ``fastdhcp.X``. Outputs: stdout, stderr, syslog[:name] or a file path
    (rotated by maxsize/maxver; an unwritable path raises OSError). Without loggers, INFO and
    above go to stdout, as in Kea. ``verbose`` is kea-dhcp4 -d: DEBUG at debuglevel 99
    everywhere. Calling it again (a reload) first undoes what the earlier call set up."""
    from .config.schema import LoggerConfig, OutputOptionConfig
    with _INSTALL_LOCK:
        _reset_locked()
        entries = [lg for lg in loggers if lg is not None]
        if not any(python_logger_name(lg.name) == LOGGER_ROOT for lg in entries):
            entries.insert(0, LoggerConfig(name=KEA_ROOT))
        for lg in entries:
            logger = logging.getLogger(python_logger_name(lg.name))
            _TOUCHED.add(logger.name)
            logger.setLevel(logging_level("DEBUG", 99) if verbose
                            else logging_level(lg.severity, lg.debuglevel))
            outputs = [o for o in lg.output_options if o is not None]
            if not outputs and logger.name == LOGGER_ROOT:
                outputs = [OutputOptionConfig()]
            for o in outputs:
                h = _handler(o)
                logger.addHandler(h)
                _INSTALLED.append((logger, h))
            # With its own outputs a logger does not also write through its parent's (Kea sets
            # log4cplus additivity off the same way); the root keeps its messages to itself.
            logger.propagate = not outputs and logger.name != LOGGER_ROOT


def reset_logging() -> None:
    """Undo ``configure_logging``: its handlers closed and removed, levels and propagation of
    the loggers it touched back to Python's defaults."""
    with _INSTALL_LOCK:
        _reset_locked()


def _reset_locked() -> None:
    for lg, h in _INSTALLED:
        lg.removeHandler(h)
        h.close()
    _INSTALLED.clear()
    for name in _TOUCHED:
        lg = logging.getLogger(name)
        lg.setLevel(logging.NOTSET)
        lg.propagate = True
    _TOUCHED.clear()
