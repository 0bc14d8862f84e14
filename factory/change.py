"""How a planned change shows itself, in every stage that plans (publish, the bootstrap
rollout): one line for the table (``describe``) and the stable ``--output json`` shape
(``as_dict``; README, "plan --output json"). Each stage's ``Step`` dataclass inherits it."""

from __future__ import annotations

from typing import Any, ClassVar


class Change:
    action: ClassVar[str] = ""
    detail: str
    #: values before and after (None where there is nothing before or after)
    old: Any
    new: Any

    @property
    def resource(self) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.action} {self.resource}" + (f" ({self.detail})" if self.detail else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "resource": self.resource,
            "detail": self.detail,
            "old": self.old,
            "new": self.new,
        }
