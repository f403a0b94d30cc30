"""Experiment configs: the YAML a researcher writes, validated against the model's own schema.

There is one parameter schema, :class:`marketplace.model.params.ModelParams`. This module never
lists model parameters: the ``model:`` block and every swept dotted path are checked by walking that
schema and by calling ``ModelParams.with_overrides`` (which is also where a swept share of a mix
renormalises the other shares so the mix still sums to 1).

Every problem becomes a :class:`ConfigError` that names the field path (``model.n_freelancers``,
``sweep.grid.clients.rater_mix.dishonest[2]``) and what is allowed; unknown keys get a
did-you-mean suggestion. All problems found are reported at once.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from marketplace.runner import design, sensitivity_design
from marketplace.runner.sensitivity_design import SensitivityDesign

SAMPLING_DESIGNS = ("latin_hypercube", "sobol")
# Config mappings keyed by dotted parameter paths (``--set`` keeps the rest of the path whole).
_DOTTED_KEY_MAPS = {
    ("sweep", "grid"),
    ("sweep", "zip"),
    ("sweep", "latin_hypercube", "ranges"),
    ("sweep", "sobol", "ranges"),
    ("sweep", "sensitivity", "parameters"),
}
_MAX_LISTED = 12


class ConfigError(Exception):
    """An invalid experiment config. ``problems`` holds ``(field path, message)`` pairs."""

    def __init__(self, problems: Iterable[tuple[str, str]], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.source}: " if self.source else ""
        if len(self.problems) == 1:
            path, msg = self.problems[0]
            return f"{head}invalid config: {path}: {msg}" if path else f"{head}{msg}"
        lines = [f"{head}invalid config ({len(self.problems)} problems):"]
        lines += [f"  {path}: {msg}" if path else f"  {msg}" for path, msg in self.problems]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The config's own structure (not model parameters).


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, value: Any, info: Any) -> Any:
        """pydantic's lax mode reads ``replications: true`` as 1; refuse it."""
        field = cls.model_fields.get(info.field_name)
        if (
            isinstance(value, bool)
            and field is not None
            and _strip(field.annotation)
            in (
                int,
                float,
            )
        ):
            raise ValueError("must be a number, not a boolean")
        return value


class SamplingDesign(_Strict):
    """``n`` points sampled over ``[low, high]`` ranges of numeric parameters."""

    n: int = Field(ge=1, description="number of sampled parameter combinations")
    ranges: dict[str, tuple[float, float]] = Field(
        min_length=1, description="dotted parameter path -> [low, high]"
    )


class SweepConfig(_Strict):
    grid: dict[str, list[Any]] = Field(
        default_factory=dict, description="full factorial over dotted parameter paths"
    )
    zip: dict[str, list[Any]] = Field(
        default_factory=dict, description="parameters varied together (lists of equal length)"
    )
    latin_hypercube: SamplingDesign | None = None
    sobol: SamplingDesign | None = None
    sensitivity: SensitivityDesign | None = Field(
        default=None, description="global sensitivity study (Morris or Sobol sample by SALib)"
    )
    replications: int = Field(default=1, ge=1, description="runs per combination")
    seed: int = Field(default=0, ge=0, description="root seed of every replication seed")
    common_random_numbers: bool = Field(
        default=False,
        description="same seed for replication r of every combination (lower-variance contrasts)",
    )


class OutputsConfig(_Strict):
    snapshot_every_weeks: int = Field(default=26, ge=1, description="freelancer snapshot period")
    contracts: bool = Field(
        default=False,
        description="store the per-contract table in each run folder (large; metrics "
        "always use it)",
    )
    model_tables: bool = Field(
        default=True, description="store the model's output tables in runs/<run_id>/"
    )


class ExperimentConfig(_Strict):
    """A validated experiment. Build it with :func:`load_config` or :meth:`from_dict`."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    description: str = ""
    model: dict[str, Any] = Field(
        default_factory=dict, description="model parameters (nested or dotted keys)"
    )
    sweep: SweepConfig = Field(default_factory=SweepConfig)
    outputs: OutputsConfig = Field(default_factory=OutputsConfig)
    analysis: list[str] = Field(
        default_factory=list,
        description="sections of the report (marketplace.analysis.sections.ANALYSES); empty = all",
    )

    _base_params: Any = PrivateAttr(default=None)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, raw: Any, source: str | None = None) -> ExperimentConfig:
        """Validate a parsed YAML document; raise :class:`ConfigError` listing every problem."""
        if not isinstance(raw, Mapping):
            raise ConfigError(
                [("", "the config must be a mapping with at least a 'name' key")], source
            )
        raw = _canonical_names(dict(raw))
        try:
            cfg = cls.model_validate(raw)
        except ValidationError as exc:
            problems = _pydantic_problems(exc, "", cls)
            if isinstance(raw.get("model"), Mapping):  # report the model's problems too, at once
                _resolve_base(raw["model"], problems)
            raise ConfigError(problems, source) from None
        problems: list[tuple[str, str]] = []
        cfg._base_params = _resolve_base(cfg.model, problems)
        if cfg._base_params is not None:
            _check_sweep(cfg.sweep, cfg._base_params, problems)
            _check_sensitivity(cfg.sweep, cfg._base_params, problems)
            if not problems:
                _check_combinations(cfg.sweep, cfg._base_params, type(cfg._base_params), problems)
        _check_analysis(cfg.analysis, problems)
        if problems:
            raise ConfigError(problems, source)
        return cfg

    # -- derived ------------------------------------------------------------------------------

    def base_params(self) -> Any:
        """The resolved ``ModelParams`` before sweeping (defaults plus the ``model:`` block)."""
        return self._base_params

    def swept_paths(self) -> list[str]:
        s = self.sweep
        paths = [*s.grid, *s.zip]
        for kind in SAMPLING_DESIGNS:
            d = getattr(s, kind)
            if d is not None:
                paths += list(d.ranges)
        if s.sensitivity is not None:
            paths += list(s.sensitivity.parameters)
        return paths

    @property
    def n_combinations(self) -> int:
        """How many parameter combinations the sweep has (computed, never materialised)."""
        s = self.sweep
        if s.sensitivity is not None:  # exclusive with the other designs (checked)
            return s.sensitivity.n_points()
        n = math.prod(len(v) for v in s.grid.values())
        if s.zip:
            n *= len(next(iter(s.zip.values())))
        for kind in SAMPLING_DESIGNS:
            d = getattr(s, kind)
            if d is not None:
                n *= d.n
        return n

    @property
    def n_runs(self) -> int:
        return self.n_combinations * self.sweep.replications

    def iter_points(self, grid: Mapping[str, list[Any]] | None = None) -> Iterator[dict[str, Any]]:
        """Every parameter combination (dotted path -> value) in combination-index order, made
        one at a time (a grid of a million combinations is never held in memory). ``grid``
        replaces the sweep's grid (an earlier generation of a grown experiment)."""
        s = self.sweep
        if s.sensitivity is not None:  # exclusive with the other designs (checked)
            return sensitivity_design.sample_points(
                s.sensitivity,
                s.seed,
                _integer_paths(type(self._base_params), self.swept_paths()),
            )
        samples = {
            k: (getattr(s, k).n, getattr(s, k).ranges)
            for k in SAMPLING_DESIGNS
            if getattr(s, k) is not None
        }
        return design.iter_combinations(
            grid=s.grid if grid is None else grid,
            zipped=s.zip,
            samples=samples,
            root_seed=s.seed,
            integer_paths=_integer_paths(type(self._base_params), self.swept_paths()),
        )

    @cached_property
    def points(self) -> list[dict[str, Any]]:
        """Every parameter combination as a list (small sweeps; the runner uses iter_points)."""
        return list(self.iter_points())

    def iter_run_specs(self) -> Iterator[design.RunSpec]:
        """Every run of the sweep, made one at a time, in (combination, replication) order."""
        s = self.sweep
        return design.iter_run_specs(
            self.iter_points(),
            self.n_combinations,
            s.replications,
            s.seed,
            common_random_numbers=s.common_random_numbers,
        )

    def run_specs(self) -> list[design.RunSpec]:
        return list(self.iter_run_specs())

    def resolved(self) -> dict[str, Any]:
        """JSON-able config with every default filled in, including every model parameter."""
        out = self.model_dump(mode="json")
        out["model_params"] = self._base_params.model_dump(mode="json", by_alias=True)
        return out

    def config_hash(self) -> str:
        """SHA-256 of what determines the runs (resolved model parameters, sweep, outputs).

        The name, description and analysis list are left out: changing them does not change any
        run, so ``--resume`` still reuses finished runs.
        """
        payload = {
            "model_params": self._base_params.model_dump(mode="json", by_alias=True),
            "sweep": self.sweep.model_dump(mode="json"),
            "outputs": self.outputs.model_dump(mode="json"),
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Loading


def load_config(path: str | Path, overrides: Iterable[str] | None = None) -> ExperimentConfig:
    """Read a YAML experiment, apply ``--set path=value`` overrides and validate it."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([("", f"config file not found: {path}")]) from None
    except OSError as exc:
        raise ConfigError([("", f"cannot read config file {path}: {exc}")]) from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except _DuplicateKeyError as exc:
        raise ConfigError([(exc.path, str(exc))], source) from None
    except yaml.YAMLError as exc:
        raise ConfigError([("", f"not valid YAML: {exc}")], source) from None
    if raw is None:
        raw = {}
    if isinstance(raw, dict):
        for assignment in overrides or ():
            apply_set(raw, assignment)
    return ExperimentConfig.from_dict(raw, source)


class _DuplicateKeyError(yaml.YAMLError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.safe_load`` keeps the last of two equal keys silently; a config that sets one
    key twice is ambiguous, so it is refused with both line numbers."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, typing.Hashable):
                continue  # PyYAML itself reports an unhashable key
            if key in seen:
                raise _DuplicateKeyError(
                    str(key),
                    f"duplicate key '{key}' (lines {seen[key]} and {line}); each key may "
                    "appear once in a mapping",
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def apply_set(raw: dict[str, Any], assignment: str) -> None:
    """Apply one ``path=value`` override in place; the value is parsed as YAML (``[0, 0.1]``).

    Below ``sweep.grid``, ``sweep.zip`` and ``sweep.<design>.ranges`` the rest of the path is one
    dotted parameter path, e.g. ``sweep.grid.clients.rater_mix.dishonest=[0, 0.2]``.
    """
    if "=" not in assignment:
        raise ConfigError([(f"--set {assignment}", "expected PATH=VALUE, e.g. model.weeks=52")])
    path, text = assignment.split("=", 1)
    segments = [s for s in path.strip().split(".")]
    if not all(segments):
        raise ConfigError([(f"--set {assignment}", "empty segment in the path")])
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError([(f"--set {assignment}", f"value is not valid YAML: {exc}")]) from None
    node = raw
    walked: tuple[str, ...] = ()
    for i, seg in enumerate(segments[:-1]):
        walked += (seg,)
        child = node.get(seg)
        if not isinstance(child, dict):
            child = {}
            node[seg] = child
        node = child
        if walked in _DOTTED_KEY_MAPS:
            node[".".join(segments[i + 1 :])] = value
            return
    node[segments[-1]] = value


# ---------------------------------------------------------------------------------------------
# Walking the model's schema


def _params_class() -> type[BaseModel]:
    from marketplace.model.params import ModelParams

    return ModelParams


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated``/``Optional`` wrappers from a type annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _submodel(annotation: Any) -> type[BaseModel] | None:
    ann = _strip(annotation)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    return None


def _allowed_values(annotation: Any) -> str | None:
    ann = _strip(annotation)
    if typing.get_origin(ann) is Literal:
        return ", ".join(repr(a) for a in typing.get_args(ann))
    return None


def schema_paths(params_cls: type[BaseModel] | None = None) -> dict[str, Any]:
    """Every dotted path of the parameter schema -> its annotation (nested models and the keys
    of dict-valued parameters such as mixes included)."""
    params_cls = params_cls or _params_class()
    paths: dict[str, Any] = {}

    def walk(obj: BaseModel, prefix: str) -> None:
        for name, info in type(obj).model_fields.items():
            path = f"{prefix}{info.alias or name}"
            paths[path] = info.annotation
            value = getattr(obj, name, None)
            if isinstance(value, BaseModel):
                walk(value, path + ".")
            elif isinstance(value, Mapping):
                args = typing.get_args(_strip(info.annotation))
                value_ann = args[1] if len(args) == 2 else Any
                for key in value:
                    paths[f"{path}.{key}"] = value_ann

    walk(params_cls(), "")
    return paths


def _field_name_aliases(params_cls: type[BaseModel] | None = None) -> dict[str, str]:
    """Dotted paths spelled with a field's Python name -> the same path spelled with its public
    alias (``clients.min_jss_mix.jss90`` -> ``clients.min_jss_mix.90``): both are accepted."""
    out: dict[str, str] = {}

    def walk(cls: type[BaseModel], py: str, public: str) -> None:
        for name, info in cls.model_fields.items():
            p_py, p_pub = f"{py}{name}", f"{public}{info.alias or name}"
            if p_py != p_pub:
                out[p_py] = p_pub
            sub = _strip(info.annotation)
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                walk(sub, p_py + ".", p_pub + ".")

    walk(params_cls or _params_class(), "", "")
    return out


def _canonical_path(path: str, aliases: Mapping[str, str]) -> str:
    """``path`` with every segment spelled by its public alias."""
    segs = path.split(".")
    for i in range(len(segs), 0, -1):
        head = ".".join(segs[:i])
        if head in aliases:
            return ".".join([aliases[head], *segs[i:]])
    return path


def _canonical_names(raw: dict[str, Any]) -> dict[str, Any]:
    """The config with parameter paths in the model block and the sweep spelled one way."""
    aliases = _field_name_aliases()
    if not aliases:
        return raw
    if isinstance(raw.get("model"), Mapping):
        flat = _flatten_model_block(raw["model"])
        if any(_canonical_path(k, aliases) != k for k in flat):
            raw["model"] = {_canonical_path(k, aliases): v for k, v in flat.items()}
    sweep = raw.get("sweep")
    if isinstance(sweep, Mapping):
        sweep = dict(sweep)
        for key, sub in (("grid", None), ("zip", None), ("latin_hypercube", "ranges"),
                         ("sobol", "ranges"), ("sensitivity", "parameters")):
            block = sweep.get(key)
            if sub is not None and isinstance(block, Mapping):
                inner = block.get(sub)
                if isinstance(inner, Mapping):
                    sweep[key] = {**block,
                                  sub: {_canonical_path(str(k), aliases): v
                                        for k, v in inner.items()}}
            elif sub is None and isinstance(block, Mapping):
                sweep[key] = {_canonical_path(str(k), aliases): v for k, v in block.items()}
        raw["sweep"] = sweep
    return raw


def _integer_paths(params_cls: type[BaseModel], paths: Iterable[str]) -> frozenset[str]:
    known = schema_paths(params_cls)
    return frozenset(p for p in paths if _strip(known.get(p)) is int)


def _suggest(name: str, candidates: Iterable[str]) -> str:
    candidates = list(candidates)
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not match:  # compare last segments: 'dishonest' -> 'clients.rater_mix.dishonest'
        last = name.rsplit(".", 1)[-1]
        by_last = {c.rsplit(".", 1)[-1]: c for c in candidates}
        hit = difflib.get_close_matches(last, list(by_last), n=1, cutoff=0.8)
        match = [by_last[hit[0]]] if hit else []
    return f"; did you mean '{match[0]}'?" if match else ""


def _listing(names: Iterable[str]) -> str:
    names = sorted(names)
    more = f", ... ({len(names) - _MAX_LISTED} more)" if len(names) > _MAX_LISTED else ""
    return ", ".join(names[:_MAX_LISTED]) + more


def _unknown_key(path: str, key: str, allowed: Iterable[str], extra: Iterable[str] = ()) -> str:
    allowed = list(allowed)
    hint = _suggest(key, allowed) or _suggest(key, extra)
    return f"unknown key '{key}'{hint} (allowed: {_listing(allowed)})"


def _loc_path(prefix: str, loc: Iterable[Any]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _model_at(cls: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the last element of ``loc`` (for did-you-mean)."""
    current: type[BaseModel] | None = cls
    for part in loc[:-1]:
        if current is None or isinstance(part, int) or part not in current.model_fields:
            return None
        current = _submodel(current.model_fields[part].annotation)
    return current


def _pydantic_problems(
    exc: ValidationError, prefix: str, cls: type[BaseModel]
) -> list[tuple[str, str]]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        path = _loc_path(prefix, loc)
        if err["type"] == "extra_forbidden":
            owner = _model_at(cls, loc)
            allowed = list(owner.model_fields) if owner else []
            key = str(loc[-1])
            section = next((name for name, sub in (("sweep", SweepConfig),
                                                    ("outputs", OutputsConfig))
                            if key in sub.model_fields), None)
            if owner is ExperimentConfig and section:  # 'replications' -> 'sweep.replications'
                msg = (f"unknown key '{key}'; did you mean '{section}.{key}'? ({key} goes under "
                       f"{section}:; allowed here: {_listing(allowed)})")
                problems.append((path, msg))
                continue
            if owner is ExperimentConfig and key in schema_paths():  # 'weeks' -> 'model.weeks'
                msg = f"unknown key '{key}'; did you mean 'model.{key}'? (model parameters go"
                problems.append((path, msg + f" under model:; allowed here: {_listing(allowed)})"))
                continue
            problems.append((path, _unknown_key(path, key, allowed)))
            continue
        msg = _clean_msg(err["msg"])
        if err["type"] not in ("missing",):
            msg += f" (got {err.get('input')!r})"
        problems.append((path, msg))
    return problems


# ---------------------------------------------------------------------------------------------
# Semantic checks against ModelParams


def _flatten_model_block(block: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested and/or dotted keys -> flat dotted paths (leaves only)."""
    flat: dict[str, Any] = {}
    for key, value in block.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten_model_block(value, path + "."))
        else:
            flat[path] = value
    return flat


def _clean_msg(msg: str) -> str:
    """pydantic prefixes messages raised in validators with 'Value error, '."""
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _exception_text(exc: Exception) -> str:
    if not isinstance(exc, ValidationError) and isinstance(exc.__cause__, ValidationError):
        exc = exc.__cause__
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            where = _loc_path("", err["loc"])
            msg = _clean_msg(err["msg"])
            parts.append(f"{where}: {msg}" if where and not msg.startswith(where) else msg)
        return "; ".join(parts)
    text = str(exc)
    return text.strip("'\"") or type(exc).__name__


def _resolve_base(block: Mapping[str, Any], problems: list[tuple[str, str]]) -> Any:
    """Defaults plus the ``model:`` block, applied through ``ModelParams.with_overrides``."""
    params_cls = _params_class()
    defaults = params_cls()
    known = schema_paths(params_cls)
    flat = _flatten_model_block(block)
    ok = True
    for path in flat:
        if path in known:
            continue
        ok = False
        segs = path.split(".")
        i = next(i for i in range(1, len(segs) + 1) if ".".join(segs[:i]) not in known)
        parent, key, head = ".".join(segs[: i - 1]), segs[i - 1], ".".join(segs[:i])
        siblings = [p.rpartition(".")[2] for p in known if p.rpartition(".")[0] == parent]
        problems.append((f"model.{head}", _unknown_key(head, key, siblings, known)))
    known_flat = {path: value for path, value in flat.items() if path in known}
    try:  # also check the known keys, so that every problem is reported at once
        params = defaults.with_overrides(known_flat) if known_flat else defaults
    except Exception as exc:  # the schema's own message, located under model.
        # the schema stops at its first error: try each key alone so that every bad one is named.
        # Alone means on top of the block's own run length: weeks 208 checked against the default
        # burn-in (260) would report a clash the config does not have.
        found: list[tuple[str, str]] = []
        run_length = {p: v for p, v in known_flat.items() if p in ("weeks", "burn_in_weeks")}
        base = defaults
        try:
            base = defaults.with_overrides(run_length) if run_length else defaults
        except Exception as clash:
            found.extend(_override_problems(clash, "model", run_length))
        for path, value in known_flat.items():
            if path in run_length:
                continue
            try:
                base.with_overrides({path: value})
            except Exception as one:
                found.extend(p for p in _override_problems(one, "model", {path: value})
                             if p not in found)
        problems.extend(found or _override_problems(exc, "model", known_flat))
        return None
    return params if ok else None


def _override_problems(exc: Exception, prefix: str, flat: Mapping[str, Any]) -> list[tuple]:
    if not isinstance(exc, ValidationError) and isinstance(exc.__cause__, ValidationError):
        exc = exc.__cause__
    if isinstance(exc, ValidationError):
        out = []
        for err in exc.errors():
            path = _loc_path(prefix, err["loc"])
            got = err.get("input")
            detail = f" (got {got!r})" if not isinstance(got, Mapping) else ""
            out.append((path, f"{_clean_msg(err['msg'])}{detail}"))
        return out
    return [(prefix, _exception_text(exc))]


def _check_value(
    base: Any, where: str, path: str, value: Any, partners: Iterable[dict[str, Any]] = ()
) -> str | None:
    """None if ``value`` is allowed with the base parameters or with one of the value sets of
    its group (``burn_in_weeks: 35`` is fine when ``weeks: 40`` is swept beside it)."""
    try:
        base.with_overrides({path: value})
    except Exception as exc:
        for partner in partners:
            try:
                base.with_overrides({**partner, path: value})
            except Exception:
                continue
            return None
        allowed = _allowed_values(schema_paths(type(base)).get(path))
        hint = f" (allowed: {allowed})" if allowed else ""
        return f"value {value!r} not allowed: {_exception_text(exc)}{hint}"
    return None


def _check_sweep(sweep: SweepConfig, base: Any, problems: list[tuple[str, str]]) -> None:
    known = schema_paths(type(base))
    seen: dict[str, str] = {}
    partners = _group_partners(_sweep_groups(sweep, known))

    def check_path(section: str, path: str) -> bool:
        where = f"sweep.{section}.{path}"
        if path not in known:
            hint = _suggest(path, known)
            problems.append((where, f"unknown model parameter '{path}'{hint}"))
            return False
        if path in seen:
            problems.append((where, f"'{path}' is already swept in sweep.{seen[path]}"))
            return False
        seen[path] = section
        return True

    for section in ("grid", "zip"):
        lists: dict[str, list[Any]] = getattr(sweep, section)
        for path, values in lists.items():
            if not check_path(section, path):
                continue
            if not values:
                problems.append((f"sweep.{section}.{path}", "empty list; give at least one value"))
                continue
            for i, value in enumerate(values):
                msg = _check_value(
                    base, f"sweep.{section}.{path}[{i}]", path, value, partners.get(path, ())
                )
                if msg:
                    problems.append((f"sweep.{section}.{path}[{i}]", msg))
    lengths = {path: len(v) for path, v in sweep.zip.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{p}: {n}" for p, n in lengths.items())
        problems.append(("sweep.zip", f"lists must have equal lengths (got {detail})"))

    for kind in SAMPLING_DESIGNS:
        spec: SamplingDesign | None = getattr(sweep, kind)
        if spec is None:
            continue
        if kind == "sobol" and spec.n & (spec.n - 1):
            problems.append(
                (
                    "sweep.sobol.n",
                    f"must be a power of 2 to keep the Sobol sequence balanced (got {spec.n};"
                    f" use {1 << (spec.n.bit_length() - 1)} or {1 << spec.n.bit_length()})",
                )
            )
        for path, (low, high) in spec.ranges.items():
            if not check_path(f"{kind}.ranges", path):
                continue
            where = f"sweep.{kind}.ranges.{path}"
            ann = _strip(known[path])
            if ann not in (int, float):
                problems.append(
                    (
                        where,
                        f"only numeric parameters can be sampled; '{path}' is {ann!r},"
                        " sweep it with grid instead",
                    )
                )
                continue
            if not low < high:
                problems.append((where, f"needs low < high (got [{low}, {high}])"))
                continue
            for bound in (low, high):
                value = round(bound) if ann is int else bound
                msg = _check_value(base, where, path, value, partners.get(path, ()))
                if msg:
                    problems.append((where, msg))


# Largest number of combinations of one parameter group checked one by one; above it only the
# combinations of each list's extremes are checked (every constraint of the schema that spans
# several values of one group, a mix summing to 1, low < high, burn-in < weeks, is monotone).
_MAX_GROUP_COMBINATIONS = 2048
_MAX_COMBINATION_PROBLEMS = 3


def _sweep_groups(
    sweep: SweepConfig, known: Mapping[str, Any]
) -> dict[str, list[tuple[tuple[str, ...], list[tuple[Any, ...]]]]]:
    """Swept paths grouped by the parameter object that holds them; each group is a list of
    factors ``(paths, rows of values)`` whose product is the group's combinations (a zip's paths
    of one group vary together, a sampled range contributes its two bounds)."""

    def group_of(path: str) -> str:
        parent = path.rpartition(".")[0]
        return parent if parent in known or not parent else path

    groups: dict[str, list[tuple[tuple[str, ...], list[tuple[Any, ...]]]]] = {}
    for path, values in sweep.grid.items():
        groups.setdefault(group_of(path), []).append(((path,), [(v,) for v in values]))
    zip_groups: dict[str, list[str]] = {}
    for path in sweep.zip:
        zip_groups.setdefault(group_of(path), []).append(path)
    for group, paths in zip_groups.items():
        rows_all = zip(*(sweep.zip[p] for p in paths), strict=False)
        rows = list({repr(r): r for r in rows_all}.values())
        groups.setdefault(group, []).append((tuple(paths), rows))
    for kind in SAMPLING_DESIGNS:
        spec: SamplingDesign | None = getattr(sweep, kind)
        for path, (low, high) in spec.ranges.items() if spec else ():
            as_int = _strip(known.get(path)) is int
            rows = [(round(low),), (round(high),)] if as_int else [(low,), (high,)]
            groups.setdefault(group_of(path), []).append(((path,), rows))
    return groups


def _group_partners(
    groups: Mapping[str, list[tuple[tuple[str, ...], list[tuple[Any, ...]]]]],
) -> dict[str, list[dict[str, Any]]]:
    """Swept path -> the value sets of its group it is run with (empty when alone)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for factors in groups.values():
        if sum(len(paths) for paths, _ in factors) < 2:
            continue
        if math.prod(len(rows) for _, rows in factors) > _MAX_GROUP_COMBINATIONS:
            factors = [(paths, _extremes(rows)) for paths, rows in factors]
        combos = [
            {
                p: v
                for (paths, _), row in zip(factors, combo, strict=True)
                for p, v in zip(paths, row, strict=True)
            }
            for combo in itertools.islice(
                itertools.product(*(rows for _, rows in factors)), _MAX_GROUP_COMBINATIONS
            )
        ]
        for paths, _ in factors:
            for p in paths:
                out[p] = combos
    return out


def _check_combinations(
    sweep: SweepConfig, base: Any, params_cls: type[BaseModel], problems: list[tuple[str, str]]
) -> None:
    """Check swept values together wherever the schema checks them together.

    The schema's cross-field rules (a mix's shares, a distribution's bounds, burn-in < weeks) are
    validators of one parameter object, so values can only clash with values of the same object.
    Swept paths are grouped by their parent object and only each group's own combinations are
    tried: a 10^6-combination grid over unrelated parameters costs a handful of checks.
    """
    groups = _sweep_groups(sweep, schema_paths(params_cls))
    for factors in groups.values():
        if sum(len(paths) for paths, _ in factors) < 2:
            continue  # one parameter alone: its values were checked one by one
        if math.prod(len(rows) for _, rows in factors) > _MAX_GROUP_COMBINATIONS:
            factors = [(paths, _extremes(rows)) for paths, rows in factors]
        found = 0
        combos = itertools.islice(
            itertools.product(*(rows for _, rows in factors)), _MAX_GROUP_COMBINATIONS
        )
        for combo in combos:
            overrides = {
                p: v
                for (paths, _), row in zip(factors, combo, strict=True)
                for p, v in zip(paths, row, strict=True)
            }
            try:
                base.with_overrides(overrides)
            except Exception as exc:
                found += 1
                if found <= _MAX_COMBINATION_PROBLEMS:
                    where = ", ".join(f"{p}={v!r}" for p, v in overrides.items())
                    problems.append(
                        (
                            "sweep",
                            f"the combination {where} is not allowed: {_exception_text(exc)}",
                        )
                    )
        if found > _MAX_COMBINATION_PROBLEMS:
            problems.append(
                ("sweep", f"... and {found - _MAX_COMBINATION_PROBLEMS} more such combinations")
            )


def _extremes(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The smallest and largest row (single numbers), else the first and last."""
    if len(rows) <= 2:
        return rows
    if all(
        len(r) == 1 and isinstance(r[0], int | float) and not isinstance(r[0], bool) for r in rows
    ):
        return [min(rows), max(rows)]
    return [rows[0], rows[-1]]


def _check_sensitivity(sweep: SweepConfig, base: Any, problems: list[tuple[str, str]]) -> None:
    sensitivity_design.check(
        sweep, base, problems, schema_paths(type(base)), _check_value, _suggest, _strip
    )


def _check_analysis(names: list[str], problems: list[tuple[str, str]]) -> None:
    # the section names only (no pandas or matplotlib: validate must start fast)
    from marketplace.analysis.sections import ANALYSES, ANALYSIS_PRESETS

    allowed = [*ANALYSES, *ANALYSIS_PRESETS]
    for i, name in enumerate(names):
        if name not in allowed:
            problems.append(
                (
                    f"analysis[{i}]",
                    f"unknown analysis '{name}'{_suggest(name, allowed)}"
                    f" (allowed: {_listing(allowed)})",
                )
            )
