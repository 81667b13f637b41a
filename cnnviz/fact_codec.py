"""Facts carried out of the grading kernel as text, and read back by the grader as plain data.

``encode`` runs in the kernel on records ``cnnviz.introspect`` made; ``decode``
runs in the grader's process (``cnnviz.grading.trusted``) on whatever a test
cell's output holds, which the student's code may have forged. Decoding is
``np.load(allow_pickle=False)`` with size limits checked before anything is
inflated, a JSON manifest, and records rebuilt only from ``cnnviz.facts``'
dataclasses with every field's type checked. Nothing here reads or runs a
live object, nor imports a module that does.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import types
import typing
import zipfile

import numpy as np

from cnnviz import facts
from cnnviz.facts import Fact, Figure, Layer, Missing, Model, Value

# Display output that carries one test cell's facts out of the grading kernel.
MIME_TYPE = "application/x-cnnviz-facts"
MAX_PAYLOAD_CHARS = 48_000_000


def _to_plain(obj, arrays: list):
    if dataclasses.is_dataclass(obj):
        body = {f.name: _to_plain(getattr(obj, f.name), arrays) for f in dataclasses.fields(obj)}
        return {"record": type(obj).__name__, "fields": body}
    if isinstance(obj, np.ndarray):
        arrays.append(obj)
        return {"array": len(arrays) - 1}
    if isinstance(obj, (list, tuple)):
        return {"list" if isinstance(obj, list) else "tuple": [_to_plain(v, arrays) for v in obj]}
    if isinstance(obj, dict):
        return {"dict": {str(k): _to_plain(v, arrays) for k, v in obj.items()}}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    raise TypeError(f"cannot carry a {type(obj).__name__} out of the kernel")


def encode(step: str, found: dict[str, Fact]) -> str:
    """One test cell's facts as text: base64 of an ``.npz`` holding the arrays and a JSON manifest."""
    arrays: list = []
    manifest = json.dumps({"step": step, "facts": _to_plain(found, arrays)})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, manifest=np.frombuffer(manifest.encode(), dtype=np.uint8),
                        **{f"a{i}": a for i, a in enumerate(arrays)})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class BadFacts(ValueError):
    """The facts a kernel sent are not well-formed (too large, wrong types, unknown records)."""


def _expect(cond: bool, what: str) -> None:
    if not cond:
        raise BadFacts(what)


def _hint_allows(hint, value) -> bool:
    """Whether a decoded ``value`` fits the dataclass field annotation ``hint``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_hint_allows(h, value) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is typing.Any:
        return True
    if origin is list:
        (item,) = typing.get_args(hint) or (typing.Any,)
        return isinstance(value, list) and all(_hint_allows(item, v) for v in value)
    if hint is tuple:
        # Every tuple of the records holds sizes, coordinates or limits: numbers, or None for an unknown size.
        return isinstance(value, tuple) and all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return False


def _from_plain(node, arrays, depth: int = 0):
    _expect(depth < 32 and isinstance(node, dict) and len(node) >= 1, "malformed facts")
    if "record" in node:
        cls = facts.RECORDS.get(node["record"])
        _expect(cls is not None and isinstance(node.get("fields"), dict), f"unknown record {node.get('record')!r}")
        hints = typing.get_type_hints(cls)
        fields = {f.name for f in dataclasses.fields(cls)}
        _expect(set(node["fields"]) <= fields, f"unknown fields in {cls.__name__}")
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        _expect(required <= set(node["fields"]), f"missing fields in {cls.__name__}")
        values = {}
        for name, raw in node["fields"].items():
            value = _from_plain(raw, arrays, depth + 1)
            _expect(_hint_allows(hints[name], value), f"{cls.__name__}.{name} has the wrong type")
            values[name] = value
        return cls(**values)
    if "array" in node:
        index = node["array"]
        _expect(isinstance(index, int) and 0 <= index < len(arrays), "bad array reference")
        return arrays[index]
    if "list" in node or "tuple" in node:
        items = node.get("list", node.get("tuple"))
        _expect(isinstance(items, list) and len(items) <= facts.MAX_ITEMS * 4, "bad list")
        items = [_from_plain(v, arrays, depth + 1) for v in items]
        return items if "list" in node else tuple(items)
    if "dict" in node:
        _expect(isinstance(node["dict"], dict) and len(node["dict"]) <= facts.MAX_ITEMS, "bad dict")
        return {k: _from_plain(v, arrays, depth + 1) for k, v in node["dict"].items()}
    if "value" in node:
        value = node["value"]
        _expect(value is None or isinstance(value, (bool, int, float, str)), "bad value")
        if isinstance(value, str):
            _expect(len(value) <= 4 * facts.MAX_TEXT, "text too long")
        return value
    raise BadFacts("malformed facts")


def decode(text: str) -> tuple[str, dict[str, Fact]]:
    """``(step, facts)`` from ``encode``'s text, read as plain data only; raises ``BadFacts``."""
    _expect(isinstance(text, str) and len(text) <= MAX_PAYLOAD_CHARS, "facts missing or too large")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        # The sizes an archive declares are what zipfile will read at most (a lie fails its
        # CRC), so a compressed bomb is refused here, before anything is inflated.
        with zipfile.ZipFile(io.BytesIO(raw)) as bundle:
            _expect(sum(info.file_size for info in bundle.infolist()) <= 8 * 4 * facts.MAX_ARRAY_ELEMENTS,
                    "arrays too large")
        with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
            names = list(archive.files)
            _expect(len(names) <= 4 * facts.MAX_ITEMS, "too many arrays")
            arrays_by_name = {}
            total = 0
            for name in names:
                array = archive[name]
                _expect(array.dtype.kind in "biuf", "non-numeric array")
                total += array.size
                _expect(total <= 4 * facts.MAX_ARRAY_ELEMENTS, "arrays too large")
                arrays_by_name[name] = array
    except BadFacts:
        raise
    except Exception as exc:
        raise BadFacts(f"unreadable facts ({type(exc).__name__})") from None
    _expect("manifest" in arrays_by_name, "no manifest")
    try:
        manifest = json.loads(arrays_by_name.pop("manifest").tobytes().decode())
    except Exception:
        raise BadFacts("unreadable manifest") from None
    arrays = [arrays_by_name.get(f"a{i}") for i in range(len(arrays_by_name))]
    _expect(all(a is not None for a in arrays), "missing arrays")
    _expect(isinstance(manifest, dict) and isinstance(manifest.get("step"), str), "no step name")
    found = _from_plain(manifest.get("facts"), arrays)
    _expect(isinstance(found, dict) and all(isinstance(v, (Missing, Value, Figure, Layer, Model))
                                            for v in found.values()), "facts are not records")
    return manifest["step"], found
