"""One truth across the native boundary: what C and Python share is defined once and checked here.

* The shared enums (DropReason, Quirk, MsgType, LeaseState, Durability) are the ``cdef enum``
  blocks of _native/*.pxd. fastdhcp/_enums.py is generated from them (_native/enums.py, run by
  every build): it must be exactly what the .pxd files give today, and the compiled core must
  report the same values (``_core.NATIVE_ENUMS``, the C compiler's own values).
* ``fastdhcp/_core.pyi`` types the native module: every public name, method and parameter of
  the compiled module is in it, and nothing else.
* The rules the policy takes from the core (BUILDER_OWNED, durability names) are the core's.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import pathlib

import pytest

import fastdhcp
from fastdhcp import _core, _enums, policy

ROOT = pathlib.Path(__file__).resolve().parent.parent
STUB = ROOT / "fastdhcp" / "_core.pyi"


def _generator():
    spec = importlib.util.spec_from_file_location("fastdhcp_enumgen", ROOT / "_native" / "enums.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_enums_are_what_the_pxd_files_define():
    generated = _generator().python_source()
    committed = (ROOT / "fastdhcp" / "_enums.py").read_text()
    assert committed == generated, (
        "fastdhcp/_enums.py differs from the cdef enums of _native/*.pxd: edit the .pxd (the one "
        "definition) and run `python _native/enums.py` (every build does)")


@pytest.mark.parametrize("name", sorted(_core.NATIVE_ENUMS))
def test_compiled_values_are_the_python_ones(name):
    python = {k: int(m.value) for k, m in getattr(_enums, name).__members__.items()}
    assert _core.NATIVE_ENUMS[name] == python


def test_every_shared_enum_is_checked():
    exported = {e.python for e in _generator().EXPORTS}
    assert set(_core.NATIVE_ENUMS) == exported
    for name in exported:     # the public names are the generated classes, not copies
        assert getattr(fastdhcp, name, None) in (None, getattr(_enums, name))


def test_the_policy_takes_the_builders_options_from_the_core():
    assert policy.BUILDER_OWNED is _core.BUILDER_OWNED


def test_durability_names_select_the_native_modes():
    modes = _core.NATIVE_ENUMS["Durability"]
    for name in ("none", "write", "fsync"):
        assert fastdhcp.Durability.named(name) == modes[name.upper()]


# ---- the stub -------------------------------------------------------------------------------

def _stub():
    """{top-level name: None for a constant or function, {member: parameter names or None}}."""
    tree = ast.parse(STUB.read_text())
    out: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    members[item.name] = _params(item)
                elif isinstance(item, ast.AnnAssign):
                    members[item.target.id] = None
            out[node.name] = members
        elif isinstance(node, ast.FunctionDef):
            out[node.name] = _params(node)
        elif isinstance(node, ast.AnnAssign) and not node.target.id.startswith("_"):
            out[node.target.id] = None
    return out


def _params(fn: ast.FunctionDef):
    if any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list):
        return None
    a = fn.args
    return ([p.arg for p in a.posonlyargs + a.args] + (["*"] if a.kwonlyargs else [])
            + [p.arg for p in a.kwonlyargs])


def _runtime_params(fn):
    names, star = [], False
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star:
            names.append("*")
            star = True
        names.append(p.name)
    return names


def _module():
    """The compiled module's public surface in the stub's shape."""
    out: dict[str, object] = {}
    for name, value in vars(_core).items():
        if name.startswith("_") or inspect.ismodule(value):
            continue
        if inspect.isclass(value) or callable(value):
            if getattr(value, "__module__", None) != "fastdhcp._core":
                continue        # imported from the Python side (Packet, MalformedPacket, ...)
        if inspect.isclass(value):
            members = {}
            for m, attr in vars(value).items():
                if m.startswith("_"):
                    continue
                members[m] = _runtime_params(attr) if callable(attr) else None
            members["__init__"] = None    # cdef classes: __cinit__ shows no signature
            out[name] = members
        elif callable(value):
            out[name] = _runtime_params(value)
        else:
            out[name] = None
    return out


def test_the_stub_names_exactly_the_public_native_surface():
    stub, module = _stub(), _module()
    assert sorted(stub) == sorted(module)
    for name, members in module.items():
        if isinstance(members, dict):
            assert sorted(stub[name]) == sorted(members), name


def test_the_stub_has_every_parameter_of_every_native_function_and_method():
    stub, module = _stub(), _module()
    for name, members in module.items():
        if isinstance(members, list):
            assert stub[name] == members, name
        elif isinstance(members, dict):
            for m, params in members.items():
                if params is not None:
                    assert stub[name][m] == params, f"{name}.{m}"
