"""Launch parameter values checked against the template, as CloudFormation checks them.

Service Catalog hands the values to CloudFormation when the launch runs, after ProvisionProduct
or UpdateProvisionedProduct has answered: "if parameters failed to pass all constraints applied
to the product, all of the resources are terminated and the provisioned product has a status of
Failed" (Service Catalog User Guide, "Viewing Provisioned Product Information"), and the
``ERROR`` status means "CloudFormation received a parameter value that was not valid and could
not launch the stack" (ProvisionedProductStatus in botocore's model). The provisioning handlers
therefore turn a message from :func:`first_violation` into a FAILED record, not a synchronous
error.

The rules are the CloudFormation User Guide's ("Parameters section syntax reference"):

* ``AllowedPattern`` "must match the entire parameter value provided", and for a
  ``CommaDelimitedList`` "the pattern must match each value in the list" (so must
  ``AllowedValues``, each element); patterns are Java regular expressions, matched here with
  Python's ``re`` in ASCII mode (``\\w``, ``\\d`` are ASCII in Java);
* ``MinLength``/``MaxLength`` apply to ``String`` values, ``MinValue``/``MaxValue`` to
  ``Number`` values and to each element of a ``List<Number>``;
* ``AWS::SSM::Parameter::Value<...>`` values are parameter names: any non-empty string is
  accepted and nothing is resolved (the stand-in has no SSM);
* other AWS-specific types (``AWS::EC2::VPC::Id``, ``List<AWS::EC2::Subnet::Id>``...) are not
  looked up in the account, only their String constraints are checked.

A default is checked like a given value when it is used (worst case: CloudFormation refuses a
default that is not one of the ``AllowedValues``, aws-samples/aws-service-catalog-reference-
architectures#23, or that does not match ``AllowedPattern``, aws-samples/aws-security-reference-
architecture-examples#160).

Messages are CloudFormation's: "Parameter 'X' must match pattern P" (Service Catalog API
reference, ParameterConstraints.ConstraintDescription), "Parameter 'X' must be one of
AllowedValues" (CloudFormation ValidationError quoted in harness/developer-hub#7541),
"Parameter 'X' must contain at least N characters" (aws-cloudformation/cloudformation-coverage-
roadmap#930), "Parameter 'X' must be a number not less than N" / "not greater than N" (CreateStack
ValidationErrors quoted in the ROSA CLI's ``create network`` test cases); "must contain at most
N characters" and "must be a number" follow the same form (not measured). A
``ConstraintDescription`` replaces the reason: "Parameter MyParameter must only contain uppercase
and lowercase letters and numbers" (API reference, ParameterConstraints).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["effective_values", "first_violation", "parameter_value"]

_SSM_TYPE_PREFIX = "AWS::SSM::Parameter::Value<"

# "Number - An integer or float" (User Guide). Java's Double.parseDouble also takes "NaN",
# "1e3", "1d" and surrounding blanks; the worst case accepts plain decimals only.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def parameter_value(value: Any) -> str:
    """A template value (a Default, an AllowedValues entry) as the string CloudFormation sees."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(parameter_value(item) for item in value)
    return str(value)


def effective_values(template: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    """The values a launch runs with: the given ones, then the declared defaults."""
    values: dict[str, str] = {}
    for key, spec in (template.get("Parameters") or {}).items():
        if key in given:
            values[str(key)] = given[key]
        elif isinstance(spec, dict) and "Default" in spec:
            values[str(key)] = parameter_value(spec["Default"])
    return values


def first_violation(template: Mapping[str, Any], values: Mapping[str, str]) -> str | None:
    """CloudFormation's message for the first declared parameter whose value breaks a
    constraint (declaration order), or None. Parameters without a value are not checked here
    (the caller refuses missing values)."""
    for key, spec in (template.get("Parameters") or {}).items():
        if key in values:
            message = _violation(str(key), spec if isinstance(spec, dict) else {}, values[key])
            if message is not None:
                return message
    return None


def _violation(name: str, spec: Mapping[str, Any], value: str) -> str | None:
    kind = str(spec.get("Type", "String"))
    if kind.startswith(_SSM_TYPE_PREFIX):
        return None if value else f"Parameters: [{name}] must have values"
    if kind == "Number":
        reason = _number_reason(spec, value)
    elif kind == "List<Number>":
        reason = _first(_number_reason(spec, item) for item in value.split(","))
    elif kind == "CommaDelimitedList" or kind.startswith("List<"):
        reason = _first(_element_reason(spec, item) for item in value.split(","))
    else:  # String and the AWS-specific types, whose values are strings
        reason = _string_reason(spec, value)
    if reason is None:
        return None
    description = spec.get("ConstraintDescription")
    return f"Parameter '{name}' {description if description else reason}"


def _first(reasons: Any) -> str | None:
    return next((reason for reason in reasons if reason is not None), None)


def _allowed_reason(spec: Mapping[str, Any], value: str) -> str | None:
    allowed = spec.get("AllowedValues")
    if isinstance(allowed, list) and value not in [parameter_value(v) for v in allowed]:
        return "must be one of AllowedValues"
    return None


def _pattern_reason(spec: Mapping[str, Any], value: str) -> str | None:
    pattern = spec.get("AllowedPattern")
    if pattern is None:
        return None
    try:
        matched = re.fullmatch(str(pattern), value, re.ASCII) is not None
    except re.error:
        return f"AllowedPattern {pattern} is not a regular expression the stand-in can apply"
    return None if matched else f"must match pattern {pattern}"


def _element_reason(spec: Mapping[str, Any], element: str) -> str | None:
    """One member of a CommaDelimitedList: AllowedValues, then AllowedPattern."""
    return _allowed_reason(spec, element) or _pattern_reason(spec, element)


def _string_reason(spec: Mapping[str, Any], value: str) -> str | None:
    minimum, maximum = spec.get("MinLength"), spec.get("MaxLength")
    if minimum is not None and len(value) < int(minimum):
        return f"must contain at least {parameter_value(minimum)} characters"
    if maximum is not None and len(value) > int(maximum):
        return f"must contain at most {parameter_value(maximum)} characters"
    return _element_reason(spec, value)


def _number_reason(spec: Mapping[str, Any], value: str) -> str | None:
    if not _NUMBER.fullmatch(value):
        return "must be a number"
    number = float(value)
    minimum, maximum = spec.get("MinValue"), spec.get("MaxValue")
    if minimum is not None and number < float(minimum):
        return f"must be a number not less than {parameter_value(minimum)}"
    if maximum is not None and number > float(maximum):
        return f"must be a number not greater than {parameter_value(maximum)}"
    return _allowed_reason(spec, value)
