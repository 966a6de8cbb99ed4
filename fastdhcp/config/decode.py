"""Decoding: the parsed JSON -> the schema Structs, every problem with its JSON path.

Objects whose keys are all plain fields go to msgspec in one call; anything else is walked key
by key, applying the rules (rules.py) and reporting unknown keys with a close match."""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from typing import Any

import msgspec

from ..errors import Problem
from .rules import _RULES, _SECTIONS, ERROR, WARNING, Rule

_BAD = object()


def _jtype(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null"


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _inner(tp: Any) -> Any:
    """``X | None`` -> ``X`` (JSON null is never a valid Kea value)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


class _Kind:
    """Decoding facts about one Struct class, computed once."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.spec = _SECTIONS[cls]
        self.rules = _RULES.get(cls, {})
        self.prefix_rules = [(k, r) for k, r in self.rules.items() if k.endswith("-")]
        self.fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
        self.required = [f for f in self.fields.values()
                         if f.default is msgspec.NODEFAULT
                         and f.default_factory is msgspec.NODEFAULT]
        nested = {k for k, f in self.fields.items() if _nested(f.type)}
        # Objects whose keys are all plain fields go to msgspec in one call (reservations and
        # option-data come by the thousand); anything else is walked key by key.
        self.plain = frozenset(self.fields) - nested
        self.ruled = frozenset(k for k in self.rules if not k.endswith("-"))
        self.known = sorted(set(self.fields) | self.ruled)
        # Rules on typed keys; for a list decoded in one msgspec call they are applied after.
        self.typed_rules = [(self.fields[k], r) for k, r in self.rules.items() if k in self.fields]
        self._list_fast: bool | None = None

    @property
    def list_fast(self) -> bool:
        """Whether a whole list of this kind may go to msgspec in one call: no object below it
        has a rule on a typed key (rules on other keys make msgspec fail, and the walk follows),
        so only this kind's typed rules need checking afterwards (``checked``)."""
        if self._list_fast is None:
            self._list_fast = not any(_kind(c).typed_rules or not _kind(c).list_fast
                                      for c in self.children())
        return self._list_fast

    def children(self) -> list[type]:
        out = []
        for f in self.fields.values():
            tp = _inner(f.type)
            if typing.get_origin(tp) is list:
                tp = typing.get_args(tp)[0]
            if _is_struct(tp):
                out.append(tp)
        return out

    def rule(self, key: str) -> Rule | None:
        r = self.rules.get(key)
        if r is None and key not in self.fields:     # (a prefix rule: only keys not modelled)
            for prefix, pr in self.prefix_rules:
                if key.startswith(prefix):
                    return pr
        return r


def _nested(tp: Any) -> bool:
    tp = _inner(tp)
    if _is_struct(tp):
        return True
    return typing.get_origin(tp) is list and _is_struct(typing.get_args(tp)[0])


_KINDS: dict[type, _Kind] = {}


def _kind(cls: type) -> _Kind:
    k = _KINDS.get(cls)
    if k is None:
        k = _KINDS[cls] = _Kind(cls)
    return k


class _Diag:
    """Problems and warnings of one load."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, path: str, reason: str) -> None:
        self.problems.append(Problem(path, reason))

    def warn(self, path: str, reason: str) -> None:
        self.warnings.append(Problem(path, reason))


class _Decoder:
    def __init__(self, diag: _Diag, dupes: bool) -> None:
        self.diag = diag
        self.fast = not dupes

    def struct(self, cls: type, obj: Any, path: str) -> Any:
        kind = _kind(cls)
        if not isinstance(obj, dict):
            self.diag.error(path, f"expected an object, got {_jtype(obj)}")
            return None
        for key in getattr(obj, "dupes", ()):
            self.diag.error(f"{path}.{key}", "the key is given twice in this object (Kea rejects "
                                             "repeated keys)")
        keys = obj.keys()
        if self.fast and keys <= kind.plain and not keys & kind.ruled:
            try:
                return msgspec.convert(obj, cls)
            except msgspec.ValidationError:
                pass        # walk it below, to report every problem with its path
        kwargs: dict[str, Any] = {}
        for key, value in obj.items():
            kpath = f"{path}.{key}"
            key = kind.spec.aliases.get(key, key)
            rule = kind.rule(key)
            f = kind.fields.get(key)
            if rule is not None and rule.when(value) and self._apply(rule, kpath) == ERROR:
                continue
            if f is None:
                if rule is None:
                    self._unknown(kind, key, kpath)
                continue
            decoded = self.value(f.type, value, kpath)
            if decoded is not _BAD:
                kwargs[f.name] = decoded
        ok = True
        for f in kind.required:
            if f.name not in kwargs:
                ok = False
                if f.encode_name not in obj:
                    self.diag.error(path, f"missing required key '{f.encode_name}'")
        return cls(**kwargs) if ok else None

    def value(self, tp: Any, value: Any, path: str) -> Any:
        tp = _inner(tp)
        if _is_struct(tp):
            r = self.struct(tp, value, path)
            return _BAD if r is None else r
        if typing.get_origin(tp) is list and _is_struct(typing.get_args(tp)[0]):
            if not isinstance(value, list):
                self.diag.error(path, f"expected a list, got {_jtype(value)}")
                return _BAD
            item = typing.get_args(tp)[0]
            kind = _kind(item)
            if self.fast and kind.list_fast and len(value) > 1:
                try:
                    items = msgspec.convert(value, tp)
                except msgspec.ValidationError:
                    pass
                else:
                    for field_info, rule in kind.typed_rules:
                        for i, it in enumerate(items):
                            # (a key the entry does not have is no use of it: its default)
                            if field_info.encode_name in value[i] and \
                                    rule.when(getattr(it, field_info.name)):
                                self._apply(rule, f"{path}[{i}].{field_info.encode_name}")
                    return items
            # A failed entry stays as None so that later checks keep the entry's index.
            return [self.struct(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
        try:
            return msgspec.convert(value, tp)
        except msgspec.ValidationError as exc:
            msg, at = str(exc), ""
            m = re.fullmatch(r"(.*) - at `\$(.*)`", msg, re.DOTALL)
            if m:
                msg, at = m.group(1), m.group(2)
            msg = msg.replace("`", "")
            msg = msg[:1].lower() + msg[1:]
            if " got " not in msg and not at:
                msg += f", got {_short(value)}"
            self.diag.error(path + at, msg)
            return _BAD

    def _apply(self, rule: Rule, path: str) -> str:
        if rule.action == ERROR:
            self.diag.error(path, rule.why)
        elif rule.action == WARNING:
            self.diag.warn(path, rule.why)
        return rule.action

    def _unknown(self, kind: _Kind, key: str, path: str) -> None:
        close = difflib.get_close_matches(key, kind.known, n=1, cutoff=0.75)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        text = f"unknown {kind.spec.title} key '{key}'{hint}: {kind.spec.why}"
        if kind.spec.unknown == ERROR:
            self.diag.error(path, text)
        else:
            self.diag.warn(path, text)


def _unusable_values(value: Any, path: str) -> list[Problem]:
    """What Kea's parser refuses before any key is looked at, with JSON paths: a null outside
    user-context (free JSON), and a string (or key) that is not text, half of a UTF-16 pair
    escaped ("\\ud800"), which no encoder can write out."""
    def text(v: str) -> bool:
        try:
            v.encode()
            return True
        except UnicodeEncodeError:
            return False
    out, stack = [], [(value, path, False)]
    while stack:
        v, p, free = stack.pop()
        if v is None and not free:
            out.append(Problem(p, "null is not a value Kea accepts here (only inside "
                                  "user-context)"))
        elif isinstance(v, str) and not text(v):
            out.append(Problem(p, f"the string {v[:60]!r} holds a lone UTF-16 surrogate "
                                  f"escape (\\ud800-\\udfff): not text"))
        elif isinstance(v, dict):
            for k, x in v.items():
                if not text(k):
                    out.append(Problem(p, f"the key {k[:60]!r} holds a lone UTF-16 surrogate "
                                          f"escape: not text"))
                else:
                    stack.append((x, f"{p}.{k}", free or k == "user-context"))
        elif isinstance(v, list):
            stack.extend((x, f"{p}[{i}]", free) for i, x in enumerate(v))
    return sorted(out)
