"""Kea's extended JSON: comments (``#``, ``//``, ``/* */``, never inside strings),
``<?include "file"?>``, trailing commas and ``.5`` numbers; repeated keys remembered; every
problem located as ``file:line:col`` across includes."""

from __future__ import annotations

import bisect
import json
import os
import re
from typing import Any, NamedTuple

from ..errors import Problem


class _Piece(NamedTuple):
    start: int      # offset of ``text`` in the joined document
    text: str
    source: str
    line: int       # line of ``source`` where ``text`` begins


# Pass 1 removes comments (blanked, so that line numbers stay right) and splices includes. The
# first alternative keeps runs of ordinary text in one match, strings whole (a '#' or '//' inside
# one is data), so that Python sees each comment, not each string.
_PASS1 = re.compile(r'''
    (?P<keep>(?:[^"\#/<]++|"(?:[^"\\\n]|\\.)*+"|/(?![/*])|<(?!\?include))++)
  | (?P<line>(?://|\#)[^\n]*)
  | (?P<block>/\*.*?\*/)
  | (?P<open>/\*)
  | (?P<inc><\?include\s*"(?P<file>[^"\n]*)"\s*\?>)
  | (?P<quote>")
''', re.DOTALL | re.VERBOSE)
# Pass 2, only when the text still does not parse: a comma before '}' or ']' (Kea accepts it with
# a warning) and a number written with a leading dot, ".25" (Kea's lexer accepts it).
_PASS2 = re.compile(r'"(?:[^"\\\n]|\\.)*"|,(?=\s*[}\]])|(?<=[\s:\[,])-?\.(?=\d)')
_NOT_NEWLINE = re.compile(r"[^\n]")

_MAX_INCLUDE_DEPTH = 10


class _Obj(dict):
    """A JSON object that remembers the keys it was given more than once."""

    __slots__ = ("dupes",)


class _BadConstant(ValueError):
    pass


_SPACED_KEY = re.compile(r'"\s+:')
_ESCAPED_SPACED_KEY = re.compile(r'\\"\s+:')


def _written_keys(doc: str) -> int:
    """Object keys written in ``doc``, counted as a closing quote and a colon. A quote-colon
    inside a string is an escaped quote (subtracted) or an opening quote (counted: the count is
    then too high and the caller takes the exact, slower road); a real key is never missed. An
    escaped backslash ("a\\\\":) would read as an escaped quote: then -1, the exact road."""
    if "\\\\" in doc:
        return -1
    return (doc.count('":') - doc.count('\\":') + len(_SPACED_KEY.findall(doc))
            - len(_ESCAPED_SPACED_KEY.findall(doc)))


def _count_keys(value: Any) -> int:
    n, stack = 0, [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            n += len(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return n


def _where(text: str, offset: int, source: str) -> str:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{source}:{line}:{col}"


class _Reader:
    """Kea's extended JSON -> Python objects, with problems and warnings located as
    ``file:line:col``. Objects holding a repeated key are ``_Obj`` listing it in ``dupes``."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.pieces: list[_Piece] = []
        self._size = 0
        self._stack: list[str] = []
        self.dupes = False
        self.source = "<string>"

    def read(self, text: str, source: str, base_dir: str) -> Any:
        self.source = source

        def constant(name):
            raise _BadConstant(name)

        # Plain JSON cannot hold comments, includes, trailing commas or ".5": a generated file
        # (100k reservations) parses at C speed; anything else takes the two passes.
        try:
            value = json.loads(text, parse_constant=constant)
            self.pieces = [_Piece(0, text, source, 1)]
            document = text
        except (json.JSONDecodeError, RecursionError, _BadConstant):
            self._add(text, source, base_dir)
            if self.problems:
                return None
            document = "".join(p.text for p in self.pieces)
            try:
                try:
                    value = json.loads(document, parse_constant=constant)
                except json.JSONDecodeError:
                    document = self._pass2()
                    value = json.loads(document, parse_constant=constant)
            except json.JSONDecodeError as exc:
                self.problems.append(Problem(self.locate(exc.pos), f"JSON syntax error: {exc.msg}"))
                return None
            except _BadConstant as exc:
                self.problems.append(Problem(source, f"JSON syntax error: {exc} is not a JSON "
                                                     f"value"))
                return None
            except RecursionError:
                self.problems.append(Problem(source, "JSON nesting is too deep"))
                return None
        if _written_keys(document) == _count_keys(value):
            return value

        # A repeated key collapsed into one: parse again, recording them (Kea rejects them).
        def pairs(items):
            obj = _Obj()
            dupes = []
            for key, v in items:
                if key in obj:
                    dupes.append(key)
                obj[key] = v
            obj.dupes = tuple(dupes)
            self.dupes = self.dupes or bool(dupes)
            return obj
        return json.loads(document, object_pairs_hook=pairs)

    def locate(self, offset: int) -> str:
        if not self.pieces:
            return f"{self.source}:1:1"
        i = max(0, bisect.bisect_right([p.start for p in self.pieces], offset) - 1)
        p = self.pieces[i]
        within = min(max(offset - p.start, 0), len(p.text))
        line = p.line + p.text.count("\n", 0, within)
        col = within - (p.text.rfind("\n", 0, within) + 1) + 1
        return f"{p.source}:{line}:{col}"

    def _emit(self, text: str, source: str, line: int) -> None:
        if text:
            self.pieces.append(_Piece(self._size, text, source, line))
            self._size += len(text)

    def _pass2(self) -> str:
        """Apply pass 2 to every piece (keeping offsets consistent); the new document."""
        pieces, size = [], 0
        for p in self.pieces:
            def fix(m, p=p):
                tok = m.group()
                if tok[0] == '"':
                    return tok
                if tok == ",":
                    at = p.line + p.text.count("\n", 0, m.start())
                    self.warnings.append(Problem(f"{p.source}:{at}",
                                                 "extra comma before a closing bracket (ignored)"))
                    return " "
                return tok.replace(".", "0.")
            text = _PASS2.sub(fix, p.text)
            pieces.append(_Piece(size, text, p.source, p.line))
            size += len(text)
        self.pieces = pieces
        return "".join(p.text for p in pieces)

    def _add(self, text: str, source: str, base_dir: str) -> None:
        out: list[str] = []
        piece_line = 1
        for m in _PASS1.finditer(text):
            kind = m.lastgroup
            if kind in ("keep", "quote"):
                out.append(m.group())
            elif kind in ("line", "block"):
                out.append(_NOT_NEWLINE.sub(" ", m.group()))
            elif kind == "open":
                self.problems.append(Problem(_where(text, m.start(), source),
                                             "unterminated /* comment"))
                return
            else:
                self._emit("".join(out), source, piece_line)
                out = []
                self._include(m.group("file"), _where(text, m.start(), source), base_dir)
                # what follows the directive keeps its line number (its column shifts)
                piece_line = text.count("\n", 0, m.end()) + 1
        self._emit("".join(out), source, piece_line)

    def _include(self, name: str, where: str, base_dir: str) -> None:
        # Kea opens the path as given (relative to the working directory); fastdhcp falls back
        # to the including file's directory, so that a configuration can be moved as a whole.
        candidates = [name] if os.path.isabs(name) else [name, os.path.join(base_dir, name)]
        found = next((c for c in candidates if os.path.isfile(c)), None)
        if found is None:
            self.problems.append(Problem(where, f"cannot include {name!r}: no such file "
                                                f"(looked in the working directory and "
                                                f"{base_dir or '.'})"))
            return
        real = os.path.realpath(found)
        if real in self._stack:
            self.problems.append(Problem(where, f"include loop: {name!r} includes itself"))
            return
        if len(self._stack) >= _MAX_INCLUDE_DEPTH:
            self.problems.append(Problem(where, f"includes nested deeper than "
                                                f"{_MAX_INCLUDE_DEPTH} levels"))
            return
        try:
            with open(found, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(Problem(where, f"cannot include {name!r}: {exc}"))
            return
        self._stack.append(real)
        self._add(text, found, os.path.dirname(found))
        self._stack.pop()
