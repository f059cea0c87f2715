"""Statuses and transitions of every case kind, read from ``schemas/lifecycle.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Status:
    name: str
    en: str
    zh: str
    final: bool = False
    pause: bool = False
    approval: str | None = None  # role whose holder must enter this status


class Lifecycle:
    def __init__(self, spec: dict):
        self._statuses: dict[str, dict[str, Status]] = {}
        self._initial: dict[str, tuple[str, ...]] = {}
        self._next: dict[str, dict[str, tuple[str, ...]]] = {}
        for kind, body in spec.items():
            self._statuses[kind] = {
                name: Status(name, **attrs) for name, attrs in body["statuses"].items()
            }
            self._initial[kind] = tuple(body["initial"])
            self._next[kind] = {k: tuple(v) for k, v in body.get("transitions", {}).items()}
            known = set(self._statuses[kind])
            named = set(self._initial[kind]) | set(self._next[kind])
            named |= {s for v in self._next[kind].values() for s in v}
            if named - known:
                raise ValueError(f"lifecycle of {kind} names unknown statuses {sorted(named - known)}")

    @classmethod
    def load(cls, schemas_dir: Path) -> "Lifecycle":
        with open(schemas_dir / "lifecycle.yaml", encoding="utf-8") as f:
            return cls(yaml.safe_load(f))

    def kinds(self) -> list[str]:
        return list(self._statuses)

    def has(self, kind: str) -> bool:
        return kind in self._statuses

    def statuses(self, kind: str) -> dict[str, Status]:
        return self._statuses.get(kind, {})

    def status(self, kind: str, name: str) -> Status | None:
        return self._statuses.get(kind, {}).get(name)

    def label(self, kind: str, name: str, lang: str = "zh") -> str:
        s = self.status(kind, name)
        return (s.zh if lang == "zh" else s.en) if s else name

    def initial(self, kind: str) -> tuple[str, ...]:
        return self._initial.get(kind, ())

    def allowed(self, kind: str, before: str) -> tuple[str, ...]:
        return self._next.get(kind, {}).get(before, ())

    def is_final(self, kind: str, name: str) -> bool:
        s = self.status(kind, name)
        return bool(s and s.final)

    def is_pause(self, kind: str, name: str) -> bool:
        s = self.status(kind, name)
        return bool(s and s.pause)

    def approval_role(self, kind: str, name: str) -> str | None:
        s = self.status(kind, name)
        return s.approval if s else None
