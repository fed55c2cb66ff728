"""A deployability problem found in a BPMN file, located so an analyst can fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One reason a diagram cannot be deployed (or a warning that it may misbehave)."""

    file: str
    message: str
    line: int | None = None
    element_id: str | None = None
    element_name: str | None = None
    severity: str = "error"  # "error" blocks deployment; "warning" does not

    @classmethod
    def at(cls, node: Any, file: str, message: str, *, owner: Any = None, severity: str = "error") -> Problem:
        """A problem on ``node``'s line, named after ``owner`` (the element holding it; default the node)."""
        owner = node if owner is None else owner
        return cls(
            file=file,
            message=message,
            line=node.sourceline,
            element_id=owner.get("id"),
            element_name=owner.get("name"),
            severity=severity,
        )

    def format(self) -> str:
        """One human line: ``file:line: [id "name"] message``."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [f"{where}:"]
        if self.element_id:
            parts.append(
                f'{self.element_id} "{self.element_name}":' if self.element_name else f"{self.element_id}:"
            )
        if self.severity != "error":
            parts.append(f"{self.severity}:")
        parts.append(self.message)
        return " ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class DiagramRejected(Exception):
    """Raised when a diagram has blocking problems; carries them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.format() for p in problems[:5]))
