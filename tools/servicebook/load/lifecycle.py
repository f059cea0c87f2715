"""Statuses and transitions of every case kind, read from ``schemas/lifecycle.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml

FILE = "lifecycle.yaml"


class LifecycleError(ValueError):
    """``schemas/lifecycle.yaml`` cannot be read as a lifecycle: every command and the site need
    it, so it stops them with this message (file, and line and column where YAML gives them)."""


@dataclass(frozen=True)
class Follows:
    """A record this one follows in the process, which must be in one of ``status`` (no status:
    filled by then) when this one enters the status that requires it. Found by ``field`` (this
    record's field naming it), else as the records of ``kind`` whose field ``naming`` holds this
    record's ID -- or, with ``through``, the value of this record's field ``through``; ``where``:
    field -> values they must have (a communication of kind quotation). ``same``: fields both must
    agree on."""

    kind: str
    status: tuple[str, ...] = ()
    field: str | None = None
    naming: str | None = None
    through: str | None = None
    same: tuple[str, ...] = ()
    where: tuple[tuple[str, tuple], ...] = ()


@dataclass(frozen=True)
class Requires:
    """What a status requires (``requires:`` in lifecycle.yaml): ``fields`` filled while the
    record is in it (``issues[].cause``: in every item); ``follows``: records it follows, as they
    stood when it entered; ``roles``: field -> roles the person it names must hold; ``when``:
    field -> values, the records the requirements apply to (a quality complaint, not an enquiry)."""

    fields: tuple[str, ...] = ()
    follows: tuple[Follows, ...] = ()
    roles: tuple[tuple[str, tuple[str, ...]], ...] = ()
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    every: tuple[tuple[str, str], ...] = ()  # (list field, key): an item for every value the schema allows

    def __bool__(self) -> bool:
        return bool(self.fields or self.follows or self.roles or self.every)

    def applies(self, data) -> bool:
        return all(isinstance(data, dict) and data.get(f) in values for f, values in self.when)

    @classmethod
    def of(cls, spec: dict | None, where: str) -> "Requires":
        if not spec:
            return cls()
        unknown = set(spec) - {"fields", "follows", "roles", "when", "every"}
        if unknown:
            raise ValueError(f"{where}: requires: unknown keys {sorted(unknown)}")
        follows = []
        for f in spec.get("follows") or ():
            if not isinstance(f, dict) or not f.get("kind") or not (f.get("field") or f.get("naming")):
                raise ValueError(f"{where}: requires.follows needs kind and field or naming: {f!r}")
            follows.append(Follows(f["kind"], tuple(f.get("status") or ()), f.get("field"), f.get("naming"),
                                   f.get("through"), tuple(f.get("same") or ()),
                                   tuple((k, tuple(v)) for k, v in (f.get("where") or {}).items())))
        roles = tuple((k, tuple(v)) for k, v in (spec.get("roles") or {}).items())
        when = tuple((k, tuple(v)) for k, v in (spec.get("when") or {}).items())
        every = tuple((e["field"], e["key"]) for e in spec.get("every") or ())
        return cls(tuple(spec.get("fields") or ()), tuple(follows), roles, when, every)


@dataclass(frozen=True)
class Status:
    name: str
    en: str
    zh: str
    final: bool = False
    pause: bool = False
    approval: str | None = None  # role whose holder must enter this status
    requires: Requires = field(default_factory=Requires)


class Lifecycle:
    def __init__(self, spec: dict):
        self._statuses: dict[str, dict[str, Status]] = {}
        self._initial: dict[str, tuple[str, ...]] = {}
        self._next: dict[str, dict[str, tuple[str, ...]]] = {}
        for kind, body in spec.items():
            self._statuses[kind] = {
                name: Status(name, **{**attrs, "requires": Requires.of(attrs.get("requires"), f"{kind}.{name}")})
                for name, attrs in body["statuses"].items()
            }
            self._initial[kind] = tuple(body["initial"])
            self._next[kind] = {k: tuple(v) for k, v in body.get("transitions", {}).items()}
            known = set(self._statuses[kind])
            named = set(self._initial[kind]) | set(self._next[kind])
            named |= {s for v in self._next[kind].values() for s in v}
            if named - known:
                raise ValueError(f"lifecycle of {kind} names unknown statuses {sorted(named - known)}")
        for kind, statuses in self._statuses.items():  # what a status follows must be a real step
            for st in statuses.values():
                for f in st.requires.follows:
                    unknown = set(f.status) - set(self._statuses.get(f.kind, {}))
                    if unknown:
                        raise ValueError(f"{kind}.{st.name} requires a {f.kind} in unknown statuses {sorted(unknown)}")

    @classmethod
    def load(cls, schemas_dir: Path) -> "Lifecycle":
        path = Path(schemas_dir) / FILE
        where = f"{Path(schemas_dir).name}/{FILE}"
        try:
            with open(path, encoding="utf-8") as f:
                spec = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 10x faster
        except OSError as err:
            raise LifecycleError(f"{where}: cannot read: {err.strerror}") from None
        except UnicodeDecodeError:
            raise LifecycleError(f"{where}: not UTF-8 text") from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
            raise LifecycleError(f"{where}{at}: not readable YAML: {getattr(err, 'problem', None) or err}") from None
        if not isinstance(spec, dict) or not all(
                isinstance(body, dict) and isinstance(body.get("statuses"), dict) for body in spec.values()):
            raise LifecycleError(f"{where}: each kind must be a mapping with its statuses (a mapping)")
        try:
            return cls(spec)
        except LifecycleError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as err:  # a misshapen entry
            raise LifecycleError(f"{where}: {err}") from None

    def kinds(self) -> list[str]:
        return list(self._statuses)

    def has(self, kind: str) -> bool:
        return kind in self._statuses

    def statuses(self, kind: str) -> dict[str, Status]:
        return self._statuses.get(kind, {})

    def status(self, kind: str, name: str) -> Status | None:
        """The status ``name`` of ``kind``; None for an unknown one, or one that is not text (a broken
        record: its schema check reports it, located)."""
        if not isinstance(name, str):
            return None
        return self._statuses.get(kind, {}).get(name)

    def label(self, kind: str, name: str, lang: str = "zh") -> str:
        s = self.status(kind, name)
        return (s.zh if lang == "zh" else s.en) if s else name if isinstance(name, str) else str(name)

    def initial(self, kind: str) -> tuple[str, ...]:
        return self._initial.get(kind, ())

    def allowed(self, kind: str, before: str) -> tuple[str, ...]:
        return self._next.get(kind, {}).get(before, ()) if isinstance(before, str) else ()

    def is_final(self, kind: str, name: str) -> bool:
        s = self.status(kind, name)
        return bool(s and s.final)

    def is_pause(self, kind: str, name: str) -> bool:
        s = self.status(kind, name)
        return bool(s and s.pause)

    def followed_by_naming(self, kinds: Iterable[str] | None = None) -> tuple[str, ...]:
        """Kinds a process rule of ``kinds`` (default: every kind) finds by what names a record (a
        feasibility naming its solution): the pull-request path reads them all when a changed
        record is of such a kind, since a changed record cannot say who names it."""
        wanted = set(self._statuses) if kinds is None else set(kinds)
        return tuple(sorted({f.kind for kind in wanted for st in self._statuses.get(kind, {}).values()
                             for f in st.requires.follows if f.naming}))

    def requires(self, kind: str, name, data=None) -> Requires:
        """What entering ``name`` requires of a ``kind`` record holding ``data`` (nothing when the
        requirements' ``when`` does not match it)."""
        s = self.status(kind, name) if isinstance(name, str) else None
        return s.requires if s and s.requires.applies(data) else Requires()

    def approval_role(self, kind: str, name: str) -> str | None:
        s = self.status(kind, name)
        return s.approval if s else None
