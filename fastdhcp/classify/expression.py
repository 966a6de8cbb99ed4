"""Kea 2.2's expression language: a lexer and a recursive-descent parser to the typed tree.

Written from Kea's own specification: ``src/lib/eval/lexer.ll`` (tokens; flex takes the longest
match, the earlier rule on a tie, and a trailing context counts towards the length),
``parser.yy`` (the typed grammar and its precedence ``+`` < ``or`` < ``and`` < ``not``) and
``eval_context.cc`` (number and name conversions and their messages).

``parse(text)`` reads a class test (a boolean expression, parser.yy ``TOPLEVEL_BOOL``);
``parse(text, mode=STRING)`` reads a string expression (``TOPLEVEL_STRING``, Kea 2.x uses it for
e.g. flex-id). Errors raise ``ExpressionError`` with the 1-based ``line``/``column`` of the
offending token and a Kea-worded ``reason``: "syntax error, unexpected X, expecting Y or Z" lists
the expected tokens as bison does; where bison would list none (more than four choices) the
reason names the kind of expression expected. Lexical and conversion errors use Kea's messages
("Invalid character: x", "Failed to convert ... to an integer.", "option 'x' is not defined").
Like bison, which calls the lexer one token at a time, a syntax error is reported before a
lexical error further right. Columns count characters (Kea counts bytes).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import NamedTuple

from . import tree as t
from .kea_options import kea22_definition_by_name
from .tree import BOOL, STRING, Kind, Pkt4FieldName, PktField, Representation

__all__ = ["ExpressionError", "parse", "kea22_option_code"]

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
UINT32_MAX = (1 << 32) - 1


class ExpressionError(ValueError):
    """A class test that Kea would reject; ``str()`` is ``"<column>: <reason>"``."""

    def __init__(self, column: int, reason: str, *, line: int = 1, end_column: int | None = None):
        self.line, self.column, self.reason = line, column, reason
        self.end_column = column if end_column is None else end_column
        super().__init__(f"{column}: {reason}")

    @property
    def location(self) -> str:
        """Kea's form of the position: ``line.column`` or ``line.first-last``."""
        span = f"-{self.end_column}" if self.end_column > self.column else ""
        return f"{self.line}.{self.column}{span}"


# --- tokens -------------------------------------------------------------------------------------

class Tok(NamedTuple):
    kind: str          # a keyword or punctuation itself, or one of the classes below
    text: str          # the matched text (a string's content without its quotes)
    line: int
    column: int
    end_column: int    # inclusive


EOF, STRING_LIT, INTEGER, HEXSTRING, OPTION_NAME, IP_ADDRESS = (
    "end of file", "constant string", "integer", "constant hexstring", "option name",
    "ip address")

# lexer.ll's fixed-text rules, in rule order (the order breaks ties of equal length).
KEYWORDS = (
    "==", "option", "relay4", "relay6", "peeraddr", "linkaddr", "text", "hex", "exists", "pkt",
    "iface", "src", "dst", "len", "pkt4", "mac", "hlen", "htype", "ciaddr", "giaddr", "yiaddr",
    "siaddr", "pkt6", "msgtype", "transid", "vendor", "vendor-class", "data", "enterprise",
    "substring", "lcase", "ucase", "split", "all", "concat", "ifelse", "hexstring", "addrtotext",
    "int8totext", "int16totext", "int32totext", "uint8totext", "uint16totext", "uint32totext",
    "not", "and", "or", "member", ".", "(", ")", "[", "]", ",", "*", "+")

# parser.yy's %token order: bison lists expected tokens in this order. lcase/ucase sit where
# Kea 2.6 declares them.
_TOKEN_ORDER = {k: i for i, k in enumerate((
    EOF, "(", ")", "not", "and", "or", "==", "option", "relay4", "relay6", "member", "peeraddr",
    "linkaddr", "[", "]", ".", "text", "hex", "exists", "pkt", "iface", "src", "dst", "len",
    "pkt4", "mac", "hlen", "htype", "ciaddr", "giaddr", "yiaddr", "siaddr", "substring", "split",
    "all", ",", "concat", "+", "ifelse", "hexstring", "addrtotext", "int8totext", "int16totext",
    "int32totext", "uint8totext", "uint16totext", "uint32totext", "lcase", "ucase", "pkt6",
    "msgtype", "transid", "vendor-class", "vendor", "*", "data", "enterprise", STRING_LIT,
    INTEGER, HEXSTRING, OPTION_NAME, IP_ADDRESS))}

# lexer.ll's pattern rules. OPTION_NAME has the trailing context ``/]`` (its length counts).
_BLANK = re.compile(r"[ \t]+")
_NEWLINE = re.compile(r"\n+")
_STRING = re.compile(r"'[^'\n]*'")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_INT = re.compile(r"-?[0-9]+")
_NAME = re.compile(r"[A-Za-z](?:[-_A-Za-z0-9]*[A-Za-z0-9])?[ \t\n]*(?=\])")
_ADDR = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:.]*")


def _shown(kind: str) -> str:
    """A token as bison names it in a message: the comma is quoted, the rest bare."""
    return '","' if kind == "," else kind


class _Lexer:
    """Tokens one at a time, as flex hands them to bison."""

    def __init__(self, text: str):
        self.text, self.pos, self.line, self.col = text, 0, 1, 1

    def _advance(self, n: int) -> None:
        chunk = self.text[self.pos:self.pos + n]
        newlines = chunk.count("\n")
        if newlines:
            self.line += newlines
            self.col = len(chunk) - chunk.rfind("\n")
        else:
            self.col += n
        self.pos += n

    def _error(self, length: int, reason: str) -> ExpressionError:
        return ExpressionError(self.col, reason, line=self.line,
                               end_column=self.col + max(length, 1) - 1)

    def next(self) -> Tok:
        text = self.text
        while True:
            if self.pos >= len(text):
                return Tok(EOF, "", self.line, self.col, self.col)
            m = _BLANK.match(text, self.pos) or _NEWLINE.match(text, self.pos)
            if m is None:
                break
            self._advance(m.end() - self.pos)
        pos = self.pos
        # (length counted by flex, rule index, kind) for every rule that matches here
        candidates = []
        for index, (pattern, kind) in enumerate(((_STRING, STRING_LIT), (_HEX, HEXSTRING),
                                                 (_INT, INTEGER), (_NAME, OPTION_NAME),
                                                 (_ADDR, IP_ADDRESS))):
            m = pattern.match(text, pos)
            if m:
                extra = 1 if kind == OPTION_NAME else 0      # the trailing ']' counts
                candidates.append((m.end() - pos + extra, -index, kind, m.end() - pos))
        for index, word in enumerate(KEYWORDS):
            if text.startswith(word, pos):
                candidates.append((len(word), -(10 + index), word, len(word)))
        if not candidates:
            raise self._error(1, f"Invalid character: {text[pos]}")
        _, _, kind, length = max(candidates)
        lexeme = text[pos:pos + length]
        line, col = self.line, self.col
        end = col + len(lexeme.split("\n")[0]) - 1
        if kind == INTEGER:
            self._check_int64(lexeme, length)
        elif kind == IP_ADDRESS:
            self._check_address(lexeme, length)
        self._advance(length)
        if kind == STRING_LIT:
            return Tok(kind, lexeme[1:-1], line, col, end)
        if kind == OPTION_NAME:
            lexeme = lexeme.rstrip(" \t\n")
            return Tok(kind, lexeme, line, col, col + len(lexeme) - 1)
        return Tok(kind, lexeme, line, col, end)

    def _check_int64(self, lexeme: str, length: int) -> None:
        # lexer.ll: the integer must fit int64_t (boost::lexical_cast), else this message.
        if not INT64_MIN <= _to_int(lexeme) <= INT64_MAX:
            raise self._error(length, f"Failed to convert {lexeme} to an integer.")

    def _check_address(self, lexeme: str, length: int) -> None:
        # lexer.ll: the pattern also matches non-addresses; IOAddress decides (inet_pton).
        if _address_bytes(lexeme) is None:
            raise self._error(length, f"Failed to convert {lexeme} to an IP address.")


def _to_int(lexeme: str) -> int:
    """The value of an ``-?[0-9]+`` lexeme; huge ones are only compared against ranges, so the
    digit count stands in for them (Python refuses very long int() conversions)."""
    negative = lexeme.startswith("-")
    digits = lexeme.lstrip("-").lstrip("0") or "0"
    if len(digits) > 30:
        return INT64_MAX * 10 * (-1 if negative else 1)
    return -int(digits) if negative else int(digits)


def _address_bytes(text: str) -> bytes | None:
    for family in (socket.AF_INET6, socket.AF_INET):    # asio tries IPv6 first
        try:
            return socket.inet_pton(family, text)
        except OSError:
            pass
    return None


# --- names ----------------------------------------------------------------------------------------

def kea22_option_code(name: str) -> int | None:
    """Kea 2.2's resolution of ``option[name]`` without configured option-def entries: the
    standard dhcp4 space, then the last-resort space (43 vendor-encapsulated-options),
    eval_context.cc convertOptionName."""
    d = kea22_definition_by_name(name)
    return None if d is None else d.code


# --- the parser -----------------------------------------------------------------------------------

_REPR = {"hex": Representation.HEX, "text": Representation.TEXT}
_PKT_FIELDS = {f.value: f for f in PktField}
_PKT4_FIELDS = {f.value: f for f in Pkt4FieldName}
_INT_TO_TEXT = {f"{'' if s else 'u'}int{b}totext": (b, s) for b in (8, 16, 32) for s in (0, 1)}
_ONE_ARG = {"addrtotext", "lcase", "ucase", *_INT_TO_TEXT}
_STRING_STARTS = {STRING_LIT, HEXSTRING, IP_ADDRESS, INTEGER, "option", "relay4", "relay6",
                  "pkt", "pkt4", "pkt6", "substring", "split", "concat", "ifelse", "hexstring",
                  "vendor", "vendor-class", "(", *_ONE_ARG}


class _Parser:
    def __init__(self, text: str, option_code: Callable[[str], int | None],
                 class_defined: Callable[[str], bool] | None):
        self.lexer = _Lexer(text)
        self.option_code, self.class_defined = option_code, class_defined
        self.tok: Tok | None = None

    # token handling
    def peek(self) -> Tok:
        if self.tok is None:
            self.tok = self.lexer.next()
        return self.tok

    def take(self) -> Tok:
        tok = self.peek()
        self.tok = None
        return tok

    def at(self, *kinds: str) -> bool:
        return self.peek().kind in kinds

    def fail(self, *expected: str, what: str = "") -> ExpressionError:
        """A bison-style syntax error at the lookahead token."""
        tok = self.peek()
        reason = f"syntax error, unexpected {_shown(tok.kind)}"
        if expected:
            names = sorted(set(expected), key=_TOKEN_ORDER.__getitem__)
            reason += ", expecting " + " or ".join(_shown(k) for k in names)
        elif what:
            reason += f", expecting {what}"
        return ExpressionError(tok.column, reason, line=tok.line, end_column=tok.end_column)

    def expect(self, kind: str, *also: str) -> Tok:
        """Take a ``kind`` token; ``also`` are the other tokens valid here, for the message."""
        if not self.at(kind):
            raise self.fail(kind, *also)
        return self.take()

    @staticmethod
    def error_at(tok: Tok, reason: str) -> ExpressionError:
        return ExpressionError(tok.column, reason, line=tok.line, end_column=tok.end_column)

    # conversions (eval_context.cc)
    def option_code_of(self, tok: Tok) -> int:
        if tok.kind == OPTION_NAME:
            code = self.option_code(tok.text)
            if code is None:
                raise self.error_at(tok, f"option '{tok.text}' is not defined")
            return code
        n = _to_int(tok.text)
        if not INT32_MIN <= n <= INT32_MAX:         # lexical_cast<int> fails
            raise self.error_at(tok, f"Option code has invalid value in {tok.text}")
        if not 0 <= n <= 255:
            raise self.error_at(tok, f"Option code has invalid value in {tok.text}. "
                                     "Allowed range: 0..255")
        return n

    def ranged(self, tok: Tok, low: int, high: int) -> int:
        n = _to_int(tok.text)
        if not low <= n <= high:
            raise self.error_at(tok, f"Invalid value in {tok.text}. Allowed range: {low}..{high}")
        return n

    # grammar: boolean expressions, loosest first
    def bool_expr(self, first: t.Node | None = None) -> t.Node:
        """``bool_expr`` with or < and < not. ``first``: an already parsed leftmost operand."""
        left = self.and_expr(first)
        while self.at("or"):
            op = self.take()
            left = t.Or(left=left, right=self.and_expr(), column=op.column)
        return left

    def and_expr(self, first: t.Node | None = None) -> t.Node:
        left = first if first is not None else self.not_expr()
        while self.at("and"):
            op = self.take()
            left = t.And(left=left, right=self.not_expr(), column=op.column)
        return left

    def not_expr(self) -> t.Node:
        if self.at("not"):
            op = self.take()
            return t.Not(operand=self.not_expr(), column=op.column)
        node = self.primary(bool_context=True)
        if node.kind is BOOL:
            return node
        return self.equal_tail(self.string_tail(node))

    def equal_tail(self, left: t.Node) -> t.Node:
        """``string_expr == string_expr``: the only way from strings to a boolean."""
        op = self.expect("==", "+")
        return t.Equal(left=left, right=self.string_expr(), column=op.column)

    def paren(self) -> t.Node:
        """``( bool_expr )`` or ``( string_expr )`` where a boolean may start: both begin with
        '(' in parser.yy, and which one it was shows only inside."""
        self.take()
        if self.at("not"):
            inner = self.bool_expr()
        else:
            first = self.primary(bool_context=True)
            if first.kind is STRING:
                first = self.string_tail(first)
                if not self.at("=="):
                    self.expect(")", "==", "+")
                    return first
                first = self.equal_tail(first)
            inner = self.bool_expr(first)
        self.expect(")", "and", "or")
        return inner

    # grammar: string expressions
    def string_expr(self) -> t.Node:
        return self.string_tail(self.primary(bool_context=False))

    def string_tail(self, left: t.Node) -> t.Node:
        while self.at("+"):
            op = self.take()
            right = self.primary(bool_context=False)
            left = t.Concat(left=left, right=right, infix=True, column=op.column)
        return left

    def primary(self, bool_context: bool) -> t.Node:
        """One operand. In a boolean context it may be a boolean (member, .exists, a
        parenthesised boolean); elsewhere only a string."""
        tok = self.peek()
        kind = tok.kind
        if bool_context:
            if kind == "(":
                return self.paren()
            if kind == "member":
                return self.member()
        elif kind == "(":
            self.take()
            inner = self.string_expr()
            self.expect(")", "+")
            return inner
        if kind not in _STRING_STARTS:
            raise self.fail(what="a boolean expression" if bool_context else
                            "a string expression")
        if kind == STRING_LIT:
            self.take()
            return t.String(value=tok.text.encode("utf-8", "surrogateescape"), column=tok.column)
        if kind == HEXSTRING:
            self.take()
            digits = tok.text[2:]
            return t.HexString(value=bytes.fromhex(("0" * (len(digits) % 2)) + digits),
                               column=tok.column)
        if kind == IP_ADDRESS:
            self.take()
            return t.IpAddress(value=_address_bytes(tok.text), column=tok.column)
        if kind == INTEGER:
            self.take()
            return t.Integer(value=self.ranged(tok, 0, UINT32_MAX), column=tok.column)
        method = getattr(self, "p_" + kind.replace("-", "_"), None)
        if method is not None:
            return method(bool_context)
        return self.function(tok)

    def member(self) -> t.Node:
        tok = self.take()
        self.expect("(")
        name = self.expect(STRING_LIT)
        self.expect(")")
        # parser.yy MEMBER action (after the ')'): only classes defined earlier or built in
        # may be named; the error points at the name (@3).
        if self.class_defined is not None and not self.class_defined(name.text):
            raise self.error_at(name, f"Not defined client class '{name.text}'")
        return t.Member(name=name.text, column=tok.column)

    def representation(self, allow_exists: bool, *also: str) -> str:
        kinds = ("text", "hex", "exists") if allow_exists else ("text", "hex")
        if not self.at(*kinds):
            raise self.fail(*kinds, *also)
        return self.take().kind

    def index(self, kinds: tuple[str, ...], convert: Callable[[Tok], int]) -> int:
        """``[ value ]``. parser.yy reduces option_code, enterprise_id and nest_level as soon
        as their token is read, so a conversion error comes before a missing ']'."""
        self.expect("[")
        if not self.at(*kinds):
            raise self.fail(*kinds)
        value = convert(self.take())
        self.expect("]")
        return value

    def p_option(self, bool_context: bool) -> t.Node:
        start = self.take()
        code = self.index((INTEGER, OPTION_NAME), self.option_code_of)
        self.expect(".")
        if self.at("option"):
            self.take()
            sub = self.index((INTEGER,), self.option_code_of)     # sub-options by number only
            self.expect(".")
            rep = self.representation(bool_context)
            if rep == "exists":
                return t.SubOptionExists(code=code, sub_code=sub, column=start.column)
            return t.SubOption(code=code, sub_code=sub, representation=_REPR[rep],
                               column=start.column)
        rep = self.representation(bool_context, "option")
        if rep == "exists":
            return t.OptionExists(code=code, column=start.column)
        return t.Option(code=code, representation=_REPR[rep], column=start.column)

    def p_relay4(self, bool_context: bool) -> t.Node:
        start = self.take()
        sub = self.index((INTEGER,), self.option_code_of)
        self.expect(".")
        rep = self.representation(bool_context)
        if rep == "exists":
            return t.Relay4OptionExists(sub_code=sub, column=start.column)
        return t.Relay4Option(sub_code=sub, representation=_REPR[rep], column=start.column)

    def p_relay6(self, bool_context: bool) -> t.Node:
        # eval_context.cc convertNestLevelNumber: int8 first, then refused for DHCPv4.
        self.take()

        def refuse(level: Tok) -> int:
            self.ranged(level, -128, 127)
            raise self.error_at(level, "Nest level invalid for DHCPv4 packets")
        return self.index((INTEGER,), refuse)

    def p_pkt6(self, bool_context: bool) -> t.Node:
        start = self.take()
        self.expect(".")
        if not self.at("msgtype", "transid"):
            raise self.fail("msgtype", "transid")
        self.take()
        raise self.error_at(start, "pkt6 can only be used in DHCPv6.")

    def p_pkt(self, bool_context: bool) -> t.Node:
        start = self.take()
        self.expect(".")
        if not self.at(*_PKT_FIELDS):
            raise self.fail(*_PKT_FIELDS)
        return t.PktMetadata(field=_PKT_FIELDS[self.take().kind], column=start.column)

    def p_pkt4(self, bool_context: bool) -> t.Node:
        start = self.take()
        self.expect(".")
        if not self.at(*_PKT4_FIELDS):
            raise self.fail(*_PKT4_FIELDS)
        return t.Pkt4Field(field=_PKT4_FIELDS[self.take().kind], column=start.column)

    def enterprise(self) -> int:
        return self.index((INTEGER, "*"), lambda tok: 0 if tok.kind == "*" else
                          self.ranged(tok, 0, UINT32_MAX))

    def vendor_head(self, bool_context: bool, whole: type, exists: type):
        """``vendor`` / ``vendor-class``: ``.enterprise`` or ``[E].exists`` (the node), else
        the enterprise E with the parser past ``[E].`` for the caller to read on."""
        start = self.take()
        if self.at("."):
            self.take()
            self.expect("enterprise")
            return start, whole(column=start.column), 0
        if not self.at("["):
            raise self.fail("[", ".")
        enterprise = self.enterprise()
        self.expect(".")
        if bool_context and self.at("exists"):
            self.take()
            return start, exists(enterprise=enterprise, column=start.column), 0
        return start, None, enterprise

    def p_vendor(self, bool_context: bool) -> t.Node:
        start, done, enterprise = self.vendor_head(bool_context, t.VendorEnterprise,
                                                   t.VendorExists)
        if done is not None:
            return done
        if not self.at("option"):
            raise self.fail("option", *(("exists",) if bool_context else ()))
        self.take()
        sub = self.index((INTEGER,), self.option_code_of)
        self.expect(".")
        rep = self.representation(bool_context)
        if rep == "exists":
            return t.VendorOptionExists(enterprise=enterprise, sub_code=sub, column=start.column)
        return t.VendorOption(enterprise=enterprise, sub_code=sub, representation=_REPR[rep],
                              column=start.column)

    def p_vendor_class(self, bool_context: bool) -> t.Node:
        start, done, enterprise = self.vendor_head(bool_context, t.VendorClassEnterprise,
                                                   t.VendorClassExists)
        if done is not None:
            return done
        self.expect("data", *(("exists",) if bool_context else ()))
        if not self.at("["):
            return t.VendorClassData(enterprise=enterprise, column=start.column)
        # convertUint8 runs in the rule's action, after the ']'
        self.expect("[")
        index_tok = self.expect(INTEGER)
        self.expect("]")
        index = self.ranged(index_tok, 0, 255)
        return t.VendorClassData(enterprise=enterprise, index=index, explicit_index=True,
                                 column=start.column)

    # functions: name ( arguments )
    def function(self, name: Tok) -> t.Node:
        self.take()
        word, col = name.kind, name.column
        self.expect("(")
        if word in _ONE_ARG:
            arg = self.string_expr()
            self.expect(")", "+")
            if word == "addrtotext":
                return t.AddressToText(operand=arg, column=col)
            if word == "lcase":
                return t.LowerCase(operand=arg, column=col)
            if word == "ucase":
                return t.UpperCase(operand=arg, column=col)
            bits, signed = _INT_TO_TEXT[word]
            return t.IntegerToText(operand=arg, bits=bits, signed=bool(signed), column=col)
        if word == "substring":
            operand = self.string_expr()
            self.expect(",", "+")
            start = _to_int(self.expect(INTEGER).text)
            self.expect(",")
            if not self.at(INTEGER, "all"):
                raise self.fail(INTEGER, "all")
            length_tok = self.take()
            length = None if length_tok.kind == "all" else _to_int(length_tok.text)
            self.expect(")")
            return t.Substring(operand=operand, start=start, length=length, column=col)
        if word == "split":
            operand = self.string_expr()
            self.expect(",", "+")
            delimiters = self.string_expr()
            self.expect(",", "+")
            field = _to_int(self.expect(INTEGER).text)
            self.expect(")")
            return t.Split(operand=operand, delimiters=delimiters, field=field, column=col)
        if word == "ifelse":
            condition = self.bool_expr()
            self.expect(",", "and", "or")
            if_true = self.string_expr()
            self.expect(",", "+")
            if_false = self.string_expr()
            self.expect(")", "+")
            return t.IfElse(condition=condition, if_true=if_true, if_false=if_false, column=col)
        # concat and hexstring: two strings
        first = self.string_expr()
        self.expect(",", "+")
        second = self.string_expr()
        self.expect(")", "+")
        if word == "concat":
            return t.Concat(left=first, right=second, column=col)
        return t.ToHexString(operand=first, separator=second, column=col)


def parse(text: str, *, mode: Kind = BOOL,
          option_code: Callable[[str], int | None] = kea22_option_code,
          class_defined: Callable[[str], bool] | None = None) -> t.Node:
    """Parse a Kea expression into its typed tree.

    ``mode``: ``BOOL`` for a class test (the whole text must be a boolean expression), ``STRING``
    for a string expression. ``option_code`` resolves ``option[name]`` (Kea's standard dhcp4
    names by default; pass one that also knows the configuration's option-def entries).
    ``class_defined``, when given, is asked about every ``member('x')`` as Kea's parser asks its
    dictionary; without it any name is accepted (see ``tree.referenced_classes``).
    """
    p = _Parser(text, option_code, class_defined)
    node = p.bool_expr() if mode is BOOL else p.string_expr()
    if not p.at(EOF):
        raise p.fail(EOF)
    return node
