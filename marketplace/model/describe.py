"""Readable descriptions of the parameter schema, read from `params.py` (the one source).

`parameter_rows()` lists every leaf parameter with its default, unit, bounds and description (for
`marketplace params`); `parameter_title(path)` is a short name in words for figure axes and report
labels (``clients.rater_mix.dishonest`` -> "Clients' rater types: dishonest share"). Nothing here
holds a default or a description of its own: all of it comes from the pydantic fields.
"""

from __future__ import annotations

import re
import textwrap
import typing
from typing import Any

from pydantic import BaseModel

from marketplace.model.params import ModelParams, _Mix, _nested_class

_UNIT = re.compile(r"\s*Unit:\s*([^.]*(?:\.\d[^.]*)*)\.?", re.IGNORECASE)
_SUFFIX_UNITS = {"_usd": "USD", "_weeks": "weeks", "_share": "share", "_prob": "probability",
                 "_sd": "standard deviation"}
TITLE_MAX_CHARS = 60


def _split_unit(description: str) -> tuple[str, str]:
    """(description without its 'Unit: ...' sentence, the unit or '')."""
    match = _UNIT.search(description)
    if not match:
        return description.strip(), ""
    text = (description[: match.start()] + " " + description[match.end():]).strip()
    return " ".join(text.split()), match.group(1).strip()


def _bounds(info: Any) -> str:
    """The field's allowed values: numeric bounds (ge/gt/le/lt) or the choices of a Literal."""
    annotation = info.annotation
    choices = _literal_choices(annotation)
    if choices:
        return " | ".join(repr(c) for c in choices)
    low = high = ""
    for meta in info.metadata:
        for attr, symbol in (("ge", "["), ("gt", "(")):
            if getattr(meta, attr, None) is not None:
                low = f"{symbol}{getattr(meta, attr):g}"
        for attr, symbol in (("le", "]"), ("lt", ")")):
            if getattr(meta, attr, None) is not None:
                high = f"{getattr(meta, attr):g}{symbol}"
    if not low and not high:
        return ""
    return f"{low or '(-inf'}, {high or 'inf)'}"


def _literal_choices(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    for arg in typing.get_args(annotation):  # Literal[...] | None
        if typing.get_origin(arg) is typing.Literal:
            return (*typing.get_args(arg), None)
    return ()


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Literal or _literal_choices(annotation):
        return "choice"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _walk(cls: type[BaseModel], prefix: str = "") -> list[tuple[str, type[BaseModel], str, Any]]:
    """(path, owning class, field name, field info) of every leaf parameter, in schema order."""
    out = []
    for name, info in cls.model_fields.items():
        public = info.alias or name
        sub = _nested_class(cls, name)
        if sub is not None:
            out.extend(_walk(sub, f"{prefix}{public}."))
        else:
            out.append((f"{prefix}{public}", cls, name, info))
    return out


def parameter_rows(pattern: str | None = None) -> list[dict[str, Any]]:
    """Every leaf parameter as {path, default, type, unit, bounds, description}, in schema order.

    `pattern` keeps the rows whose path or description contains it (case-insensitive); a pattern
    with ``*`` or ``?`` is matched against the path as a glob.
    """
    import fnmatch

    defaults = ModelParams()
    rows = []
    for path, cls, name, info in _walk(ModelParams):
        description, unit = _split_unit(info.description or "")
        if not unit:
            unit = next((u for suffix, u in _SUFFIX_UNITS.items() if name.endswith(suffix)), "")
        if not unit and issubclass(cls, _Mix):
            unit = "share"
        value: Any = defaults
        for part in path.split("."):
            value = _get(value, part)
        rows.append({"path": path, "default": value, "type": _type_name(info.annotation),
                     "unit": unit, "bounds": _bounds(info), "description": description})
    if pattern:
        p = pattern.lower()
        if any(ch in p for ch in "*?["):
            rows = [r for r in rows if fnmatch.fnmatch(r["path"].lower(), p)]
        else:
            rows = [r for r in rows if p in r["path"].lower() or p in r["description"].lower()]
    return rows


def _get(obj: Any, public_name: str) -> Any:
    for name, info in type(obj).model_fields.items():
        if (info.alias or name) == public_name:
            return getattr(obj, name)
    raise KeyError(public_name)


def parameter_title(path: str, max_chars: int = TITLE_MAX_CHARS) -> str:
    """A short name in words for a parameter path, from its schema description.

    A mix share is named by its mix ("Clients' rater types: dishonest share"); any other parameter
    by the first clause of its description. Unknown paths (e.g. a `combo` column) come back as
    given.
    """
    for leaf, cls, _name, info in _walk(ModelParams):
        if leaf != path:
            continue
        if issubclass(cls, _Mix):
            mix = re.split(r"\s\(|[:.]", (cls.__doc__ or "").strip(), maxsplit=1)[0].strip()
            return f"{mix}: {path.rsplit('.', 1)[-1]} share"
        description, _ = _split_unit(info.description or "")
        first = re.split(r"\s\(|[:;.](?:\s|$)", description, maxsplit=1)[0].strip()
        if not first:
            return path
        return textwrap.shorten(first, max_chars, placeholder="...")
    return path
