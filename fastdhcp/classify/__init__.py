"""Client classification: Kea 2.2's expression language (the ``test`` of a client class).

``parse(text)`` turns a class test into a typed tree (``tree``: one frozen node type per token
family, each yielding STRING or BOOL, with its source column) or raises ``ExpressionError``
(``.column``, ``.reason``). ``matches(tree, PacketView.from_packet(packet), classes)`` is the
reference answer Kea 2.2 would give; ``evaluate`` gives the value itself. The native compiler
is checked against this package.

Files: ``tree`` (nodes, ``referenced_classes``, ``unparse``), ``expression`` (lexer and parser),
``evaluate`` (``PacketView`` and the evaluator), ``kea_options`` (how Kea 2.2 unpacks an option
and renders ``.hex``/``.text``), ``kea_names`` (Kea's DNS name rules for fqdn fields).
"""

from .evaluate import EvalError, EvalTypeError, PacketDropped, PacketView, evaluate, matches
from .expression import ExpressionError, kea22_option_code, parse
from .kea_options import kea22_definition
from .tree import BOOL, LATER_THAN_2_2, STRING, Kind, referenced_classes, unparse

__all__ = ["BOOL", "LATER_THAN_2_2", "STRING", "EvalError", "EvalTypeError", "ExpressionError",
           "Kind", "PacketDropped", "PacketView", "evaluate", "kea22_definition",
           "kea22_option_code", "matches", "parse", "referenced_classes", "unparse"]
