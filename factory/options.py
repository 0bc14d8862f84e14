"""Generator options: the defaults a platform team bakes into its product templates.

Options are pydantic models so a bad value is caught before anything is generated, and
the error names the option, the value given and what is allowed.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from factory.studio import (
    HIDEABLE_APP_TYPES,
    IDLE_MINUTES_MAX,
    IDLE_MINUTES_MIN,
    ML_TOOLS,
    UNHIDEABLE_APP_TYPES,
)


class OptionsError(ValueError):
    """Invalid generator options; ``str()`` is one line per problem."""

    def __init__(self, product: str, problems: list[str]) -> None:
        self.product = product
        self.problems = problems
        super().__init__("\n".join(f"{product}: {p}" for p in problems))


def _check_members(option: str, values: list[str], allowed: tuple[str, ...]) -> list[str]:
    bad = [v for v in values if v not in allowed]
    if not bad:
        return values
    hint = ""
    if any(v in UNHIDEABLE_APP_TYPES for v in bad):
        hint = f" ({', '.join(UNHIDEABLE_APP_TYPES)} can never be hidden: it breaks deployment)"
    raise ValueError(
        f"option {option}: {', '.join(map(repr, bad))} not allowed{hint}; "
        f"allowed: {', '.join(allowed)}"
    )


class StudioUiOptions(BaseModel):
    """Defaults for what Studio shows; shared by the domain and the user profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hidden_app_types: list[str] = ["JupyterServer"]
    hidden_ml_tools: list[str] = []
    hidden_instance_types: list[str] = []

    @field_validator("hidden_app_types")
    @classmethod
    def _apps(cls, v: list[str]) -> list[str]:
        return _check_members("hidden_app_types", v, HIDEABLE_APP_TYPES)

    @field_validator("hidden_ml_tools")
    @classmethod
    def _tools(cls, v: list[str]) -> list[str]:
        return _check_members("hidden_ml_tools", v, ML_TOOLS)


class IdleOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_minutes: int = 60
    min_minutes: int = 60
    max_minutes: int = 480

    @model_validator(mode="after")
    def _bounds(self) -> IdleOptions:
        for name in ("default_minutes", "min_minutes", "max_minutes"):
            value = getattr(self, name)
            if not IDLE_MINUTES_MIN <= value <= IDLE_MINUTES_MAX:
                raise ValueError(
                    f"option idle.{name}: {value} outside {IDLE_MINUTES_MIN}..{IDLE_MINUTES_MAX}"
                )
        if self.min_minutes > self.max_minutes:
            raise ValueError(
                f"option idle.min_minutes: {self.min_minutes} is greater than "
                f"idle.max_minutes {self.max_minutes}; allowed: min <= max"
            )
        if not self.min_minutes <= self.default_minutes <= self.max_minutes:
            raise ValueError(
                f"option idle.default_minutes: {self.default_minutes} outside "
                f"[{self.min_minutes}, {self.max_minutes}]; allowed: min <= default <= max"
            )
        return self


def parse(product: str, model: type[BaseModel], data: dict[str, Any] | None) -> Any:
    """Validate ``data`` into ``model``; raise :class:`OptionsError` with every problem."""
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        raise OptionsError(product, [_describe(err, model) for err in exc.errors()]) from None


def _describe(err: Any, model: type[BaseModel]) -> str:
    """``option <dotted.path>: <what>; <what is allowed>``; the path is the whole path from
    the template's options (``ui.hidden_app_types``, not ``hidden_app_types``)."""
    loc = tuple(err["loc"])
    where = ".".join(str(p) for p in loc) or "options"
    message = str(err["msg"]).removeprefix("Value error, ")
    if message.startswith("option "):
        name, _, rest = message.removeprefix("option ").partition(": ")
        if loc and name == str(loc[-1]) and where != name:
            return f"option {where}: {rest}"  # a field validator knows only its own name
        return message
    if err["type"] == "extra_forbidden":
        allowed = list(_model_at(model, loc[:-1]).model_fields)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown option {where!r}{hint}; allowed keys: {', '.join(allowed)}"
    if err["type"] == "model_type":
        allowed = ", ".join(_model_at(model, loc).model_fields)
        got = err.get("input")
        return f"option {where}: expected a mapping with the keys {allowed}, got {got!r}"
    return f"option {where}: {message} (got {err.get('input')!r})"


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel]:
    """The options model at ``loc`` (e.g. ``("ui",)`` -> StudioUiOptions)."""
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return model
        model = annotation
    return model
