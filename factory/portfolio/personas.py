"""Personas (`portfolios/personas.yaml`): named bundles of user-profile parameters.

An admin says "analyst" instead of ten toggles. Every value a persona sets is validated
against the parameters of the user-profile product itself
(:func:`factory.products.user_profile.generate`): the allowed apps and ML tools are its
``HiddenAppTypes`` / ``HiddenMlTools`` ``AllowedValues``, the instance types its
``HiddenInstanceTypes`` ``AllowedPattern``, the role modes its ``ExecutionRoleMode``
``AllowedValues``, and so on. There is no second hand-written list, so a persona accepted
here is a set of ProvisioningParameters the template accepts.

    personas = load_personas(Path("portfolios/personas.yaml"))
    parameters = provisioning_parameters(personas["junior-analyst"], "jane-doe")

The file is plain YAML (no Jinja) and is read with the portfolio loader's machinery, so a
problem is reported as a :class:`~factory.portfolio.loader.PortfolioConfigError` whose
issues point at file:line:col, all problems of the file at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from factory.portfolio.loader import (
    Issue,
    _check_document,
    _Document,
    _fail,
    _items,
    _read_text,
)
from factory.portfolio.models import SLUG_PATTERN, _duplicates, _Model, rule_error

PERSONAS_PATH = Path("portfolios/personas.yaml")
"""Where the personas live (relative to the repository). Not `portfolios/*.yaml`: the
portfolio loader reads every such file as a portfolio file (`load_catalog`)."""

#: Persona field -> user-profile product parameter it sets.
FIELD_PARAMETERS: dict[str, str] = {
    "hidden_app_types": "HiddenAppTypes",
    "hidden_ml_tools": "HiddenMlTools",
    "hidden_instance_types": "HiddenInstanceTypes",
    "execution_role_mode": "ExecutionRoleMode",
    "existing_execution_role_arn": "ExistingExecutionRoleArn",
    "enforce_hidden_tools": "EnforceHiddenTools",
    "idle_timeout_minutes": "IdleTimeoutMinutes",
}

#: Parameters that belong to the person or the domain, never to a persona.
PERSON_PARAMETERS = frozenset({"UserProfileName", "SsoUserName", "Persona"})
#: The product parameter that records which persona a launch used (`users list` shows it).
PERSONA_PARAMETER = "Persona"

IDLE_PARAMETER = "IdleTimeoutMinutes"


# --- the product's parameters ------------------------------------------------------------------


@cache
def user_profile_parameters() -> Mapping[str, Mapping[str, Any]]:
    """The user-profile product's CloudFormation `Parameters`, as generated."""
    from factory.products import user_profile

    return user_profile.generate().to_dict()["Parameters"]


@cache
def _domain_parameters() -> Mapping[str, Mapping[str, Any]]:
    """The domain product's idle parameters, from the same function that declares them there
    (`ui.idle_parameters`). Not `domain.generate()`: that derives the launch role's
    permissions from cfn-lint's registry schemas and the SAR (~1 s, ~140 MB), which every
    `users` command would pay for four parameter specs."""
    from factory.options import IdleOptions
    from factory.products import ui
    from factory.template import ProductTemplate

    pt = ProductTemplate("idle parameters")
    ui.idle_parameters(pt, "Idle", IdleOptions())
    return pt.template.to_dict()["Parameters"]


def idle_timeout_parameter() -> tuple[str, Mapping[str, Any]]:
    """(product name, spec) of the `IdleTimeoutMinutes` parameter a persona's timeout obeys.

    The user-profile product's own parameter when it has one; otherwise the domain
    product's (the shared `ui.idle_parameters`), whose bounds apply to everyone in the
    domain. In that case the timeout is validated but not part of the user-profile
    ProvisioningParameters (see :func:`provisioning_parameters`): CloudFormation's
    `AWS::SageMaker::UserProfile` schema (bundled in cfn-lint) has no `AppLifecycleManagement`
    under `JupyterLabAppSettings`/`CodeEditorAppSettings`, so a profile cannot set its own
    timeout through CloudFormation (cfn-lint E3002); the domain's applies.
    """
    if IDLE_PARAMETER in user_profile_parameters():
        return "studio-user-profile", user_profile_parameters()[IDLE_PARAMETER]
    return "studio-domain", _domain_parameters()[IDLE_PARAMETER]


def persona_parameter_names() -> list[str]:
    """Parameters a persona may set in its `parameters:` mapping (the ones without a field)."""
    typed = set(FIELD_PARAMETERS.values())
    return sorted(
        name
        for name, spec in user_profile_parameters().items()
        if name not in typed
        and name not in PERSON_PARAMETERS
        and not str(spec.get("Type", "")).startswith("AWS::SSM::")
    )


def allowed_values(parameter: str) -> list[str]:
    """The non-empty `AllowedValues` of a user-profile parameter."""
    return [str(v) for v in user_profile_parameters()[parameter].get("AllowedValues", []) if v]


def _did_you_mean(value: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
    if not close:  # case-only typos (canvas -> Canvas)
        close = [a for a in allowed if a.casefold() == value.casefold()]
    return f" (did you mean {close[0]!r}?)" if close else ""


def value_problem(parameter: str, spec: Mapping[str, Any], value: str) -> str | None:
    """Why CloudFormation would reject `value` for the parameter `spec`, or None.

    Mirrors the template's constraints: `AllowedValues`, `AllowedPattern`, `MinLength`,
    `MaxLength` and, for `Number`, `MinValue` / `MaxValue`. A `CommaDelimitedList` is
    checked item by item.
    """
    kind = spec.get("Type", "String")
    items = value.split(",") if kind == "CommaDelimitedList" else [value]
    for item in items:
        if "AllowedValues" in spec:
            allowed = [str(v) for v in spec["AllowedValues"]]
            if item not in allowed:
                shown = ", ".join(repr(a) if a == "" else a for a in allowed)
                hint = _did_you_mean(item, [a for a in allowed if a])
                return f"{parameter}: {item!r} is not allowed{hint}; allowed: {shown}"
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, item):
            help_text = spec.get("ConstraintDescription", f"a value matching {pattern}")
            return f"{parameter}: {item!r} does not match {pattern} ({help_text})"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"{parameter}: at least {spec['MinLength']} characters, got {value!r}"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"{parameter}: at most {spec['MaxLength']} characters, got {value!r}"
    if kind == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"{parameter}: expected a number, got {value!r}"
        low, high = spec.get("MinValue"), spec.get("MaxValue")
        if (low is not None and number < float(low)) or (high is not None and number > float(high)):
            return f"{parameter}: {value} is outside {low}..{high}"
    return None


# --- field checks -------------------------------------------------------------------------------


def _list_item_check(parameter: str, what: str) -> Any:
    def check(value: str) -> str:
        if value == "":
            raise rule_error(f"empty {what}; leave the list empty to hide none")
        spec = user_profile_parameters()[parameter]
        if "AllowedValues" in spec:
            allowed = allowed_values(parameter)
            if value not in allowed:
                raise rule_error(
                    f"unknown {what} {value!r}{_did_you_mean(value, allowed)}; allowed "
                    f"(the user-profile product's {parameter}): {', '.join(allowed)}"
                )
        problem = value_problem(parameter, spec, value)
        if problem is not None:
            raise rule_error(f"invalid {what} {value!r}: {problem}")
        return value

    return AfterValidator(check)


def _single_check(parameter: str) -> Any:
    def check(value: Any) -> Any:
        problem = value_problem(parameter, user_profile_parameters()[parameter], _text(value))
        if problem is not None:
            raise rule_error(problem)
        return value

    return AfterValidator(check)


def _check_idle(minutes: int | None) -> int | None:
    if minutes is None:
        return None
    product, spec = idle_timeout_parameter()
    problem = value_problem(IDLE_PARAMETER, spec, str(minutes))
    if problem is not None:
        raise rule_error(f"{problem} (bounds of the {product} product's {IDLE_PARAMETER})")
    return minutes


def _text(value: Any) -> str:
    """A parameter value as CloudFormation receives it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


AppType = Annotated[str, _list_item_check("HiddenAppTypes", "app type")]
MlTool = Annotated[str, _list_item_check("HiddenMlTools", "ML tool")]
InstanceType = Annotated[str, _list_item_check("HiddenInstanceTypes", "instance type")]


class Persona(_Model):
    """One persona: the user-profile parameters everyone with this persona gets."""

    name: Annotated[str, Field(max_length=64, pattern=SLUG_PATTERN)] = Field(
        description="Persona name used on the command line, e.g. 'junior-analyst'."
    )
    description: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="Who this persona is for, in one or two sentences."
    )
    hidden_app_types: list[AppType] = Field(
        default_factory=list, description="Studio apps hidden (HiddenAppTypes)."
    )
    hidden_ml_tools: list[MlTool] = Field(
        default_factory=list, description="ML tools hidden (HiddenMlTools)."
    )
    hidden_instance_types: list[InstanceType] = Field(
        default_factory=list, description="Instance types hidden (HiddenInstanceTypes)."
    )
    execution_role_mode: Annotated[str, _single_check("ExecutionRoleMode")] = Field(
        description="Team (the domain's team role, or existing_execution_role_arn) or "
        "PerPerson (a least-privilege role per person)."
    )
    existing_execution_role_arn: Annotated[str, _single_check("ExistingExecutionRoleArn")] = Field(
        default="", description="With Team: this role instead of the team role."
    )
    enforce_hidden_tools: Annotated[bool, _single_check("EnforceHiddenTools")] = Field(
        default=True, description="With PerPerson: IAM denies for every hidden app and tool."
    )
    idle_timeout_minutes: Annotated[int | None, AfterValidator(_check_idle)] = Field(
        default=None, description="Minutes of inactivity before JupyterLab/Code Editor stop."
    )
    parameters: dict[str, str | int | bool] = Field(
        default_factory=dict,
        description="Other user-profile parameters by name, e.g. CreatePrivateSpace: 'true'.",
    )

    @field_validator("hidden_app_types", "hidden_ml_tools", "hidden_instance_types")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        for index in _duplicates(values):
            raise rule_error(f"{values[index]!r} is listed twice", at=(index,))
        return values

    @field_validator("hidden_app_types")
    @classmethod
    def _something_visible(cls, values: list[str]) -> list[str]:
        hideable = allowed_values("HiddenAppTypes")
        if hideable and set(hideable) <= set(values):
            raise rule_error(
                "hides every app (" + ", ".join(hideable) + "): the person could not open "
                "anything; leave at least one app visible"
            )
        return values

    @field_validator("parameters")
    @classmethod
    def _known_parameters(cls, parameters: dict[str, Any]) -> dict[str, Any]:
        allowed = persona_parameter_names()
        specs = user_profile_parameters()
        fields = {parameter: field for field, parameter in FIELD_PARAMETERS.items()}
        for name, value in parameters.items():
            if name in fields:
                raise rule_error(
                    f"{name} is set with the field {fields[name]!r}, not in parameters",
                    at=(name,),
                )
            if name not in allowed:
                raise rule_error(
                    f"unknown parameter {name!r}{_did_you_mean(name, allowed)}; a persona may "
                    f"set: {', '.join(allowed)} (and the fields {', '.join(FIELD_PARAMETERS)})",
                    at=(name,),
                )
            problem = value_problem(name, specs[name], _text(value))
            if problem is not None:
                raise rule_error(problem, at=(name,))
        return parameters

    @model_validator(mode="after")
    def _role_choice(self) -> Persona:
        if self.execution_role_mode == "PerPerson" and self.existing_execution_role_arn:
            # The template's rule PerPersonRoleExcludesExistingRole.
            raise rule_error(
                "execution_role_mode PerPerson creates the role: leave "
                "existing_execution_role_arn empty",
                at=("existing_execution_role_arn",),
            )
        return self


class PersonasFile(_Model):
    """`portfolios/personas.yaml`."""

    personas: list[Persona] = Field(min_length=1)


# --- loading and mapping -----------------------------------------------------------------------


def load_personas(path: Path = PERSONAS_PATH) -> dict[str, Persona]:
    """The personas of `path` by name. Raises `PortfolioConfigError` listing every problem."""
    path = Path(path)
    source, problem = _read_text(path)
    if problem is not None:
        _fail([problem])
    document = _Document(path)
    model, parsed, issues = _check_document(document, source, None, PersonasFile)
    if parsed:
        issues += _duplicate_names(document)
    if issues:
        _fail(issues)
    assert isinstance(model, PersonasFile)
    return {persona.name: persona for persona in model.personas}


def _duplicate_names(document: _Document) -> list[Issue]:
    """Persona names must be unique (checked on the raw data, so that a duplicate is
    reported even when another persona of the file is invalid)."""
    first: dict[str, int] = {}
    issues = []
    for index, item in _items(document.data, "personas"):
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in first:
            line, column = document.position(("personas", first[name], "name")) or (None, None)
            message = f"duplicate persona name {name!r}: already defined at {line}:{column}"
            issues.append(document.issue(("personas", index, "name"), message))
        else:
            first[name] = index
    return issues


def provisioning_parameters(
    persona: Persona, user_profile_name: str | None = None
) -> list[dict[str, str]]:
    """The user-profile product's ProvisioningParameters (`[{"Key", "Value"}]`) for `persona`.

    Every parameter the persona controls is listed explicitly (defaults included), so that
    provisioning or updating with a persona sets exactly what the persona says. With
    `user_profile_name`, its `UserProfileName` is added (ValueError when the template
    would reject it). `idle_timeout_minutes` is included only when the user-profile product
    has an `IdleTimeoutMinutes` parameter.
    """
    specs = user_profile_parameters()
    values: dict[str, str] = {}
    if user_profile_name is not None:
        problem = value_problem("UserProfileName", specs["UserProfileName"], user_profile_name)
        if problem is not None:
            raise ValueError(problem)
        values["UserProfileName"] = user_profile_name
    for field, parameter in FIELD_PARAMETERS.items():
        value = getattr(persona, field)
        if parameter in specs and value is not None:
            values[parameter] = _text(value)
    values.update((name, _text(value)) for name, value in persona.parameters.items())
    if PERSONA_PARAMETER in specs:
        values[PERSONA_PARAMETER] = persona.name
    return [{"Key": key, "Value": value} for key, value in values.items()]
