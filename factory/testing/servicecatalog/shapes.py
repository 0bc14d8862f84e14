"""botocore's Service Catalog model: request validation and response shape checks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator

from .errors import ServiceCatalogError, ShapeMismatchError

READ_PREFIXES = ("Describe", "List", "Search", "Scan", "Get")


@functools.cache
def service_model() -> ServiceModel:
    """botocore's Service Catalog model (loaded once; it is immutable)."""
    return botocore.session.get_session().get_service_model("servicecatalog")


def is_mutating(operation: str) -> bool:
    """Classify an operation as mutating by name, as the request log and stats do."""
    return not operation.startswith(READ_PREFIXES)


def check_output(shape: Shape | None, value: Any, path: str = "$") -> None:
    """Raise :class:`ShapeMismatchError` unless ``value`` conforms to ``shape``.

    Checks member names, JSON types, enum values and required members. Timestamps must be epoch
    seconds (int or float) because that is how the JSON protocol carries them.
    """
    if shape is None:
        if value:
            raise ShapeMismatchError(f"{path}: operation has no output but got {value!r}")
        return
    checker = _SHAPE_CHECKERS.get(shape.type_name)
    if checker is None:
        raise ShapeMismatchError(f"{path}: unsupported shape type {shape.type_name}")
    checker(shape, value, path)


def _check_structure(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, dict), path, "an object", value)
    members = shape.members
    unknown = sorted(set(value) - set(members))
    if unknown:
        raise ShapeMismatchError(f"{path}: keys {unknown} are not in shape {shape.name}")
    missing = [m for m in shape.required_members if m not in value]
    if missing:
        raise ShapeMismatchError(f"{path}: required members {missing} missing ({shape.name})")
    for key, item in value.items():
        check_output(members[key], item, f"{path}.{key}")


def _check_list(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, list), path, "a list", value)
    for index, item in enumerate(value):
        check_output(shape.member, item, f"{path}[{index}]")


def _check_map(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, dict), path, "an object", value)
    for key, item in value.items():
        check_output(shape.key, key, f"{path}<key>")
        check_output(shape.value, item, f"{path}.{key}")


def _check_string(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, str), path, "a string", value)
    if shape.enum and value not in shape.enum:
        raise ShapeMismatchError(f"{path}: {value!r} is not one of {shape.enum}")


def _check_integer(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, int) and not isinstance(value, bool), path, "an integer", value)


def _check_number(shape: Shape, value: Any, path: str) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    _expect(ok, path, "a number (epoch seconds for timestamps)", value)


def _check_boolean(shape: Shape, value: Any, path: str) -> None:
    _expect(isinstance(value, bool), path, "a boolean", value)


def _expect(ok: bool, path: str, what: str, value: Any) -> None:
    if not ok:
        raise ShapeMismatchError(f"{path}: expected {what}, got {type(value).__name__} {value!r}")


_SHAPE_CHECKERS: dict[str, Callable[[Shape, Any, str], None]] = {
    "structure": _check_structure,
    "list": _check_list,
    "map": _check_map,
    "string": _check_string,
    "blob": _check_string,
    "integer": _check_integer,
    "long": _check_integer,
    "float": _check_number,
    "double": _check_number,
    "timestamp": _check_number,
    "boolean": _check_boolean,
}


def validate_input(operation_model: OperationModel, params: Mapping[str, Any]) -> None:
    """Raise ``ValidationException`` with botocore's message if ``params`` do not fit the model."""
    shape = operation_model.input_shape
    if shape is None:
        if params:
            raise ServiceCatalogError("ValidationException", "Operation takes no input")
        return
    errors: list[str] = []
    report = ParamValidator().validate(dict(params), shape)
    if report.has_errors():
        errors.append(report.generate_report())
    errors.extend(_trait_errors(shape, params, ""))
    if errors:
        message = "Parameter validation failed:\n" + "\n".join(errors)
        raise ServiceCatalogError("ValidationException", message)


def _trait_errors(shape: Shape, value: Any, path: str) -> Iterator[str]:
    """``max`` and ``enum`` violations, which botocore's client-side validator ignores."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        for key, item in value.items():
            member = shape.members.get(key)
            if member is not None:
                yield from _trait_errors(member, item, f"{path}.{key}" if path else key)
    elif kind == "list" and isinstance(value, list):
        yield from _max_error(shape, len(value), path, "length")
        for index, item in enumerate(value):
            yield from _trait_errors(shape.member, item, f"{path}[{index}]")
    elif kind == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            yield from _trait_errors(shape.key, key, f"{path} key")
            yield from _trait_errors(shape.value, item, f"{path}.{key}")
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            valid = ", ".join(shape.enum)
            yield f"Invalid value for parameter {path}, value: {value}, valid values: {valid}"
        yield from _max_error(shape, len(value), path, "length")
    elif kind in ("integer", "long") and isinstance(value, int):
        yield from _max_error(shape, value, path, "value")


def _max_error(shape: Shape, actual: int, path: str, what: str) -> Iterator[str]:
    maximum = shape.metadata.get("max")
    if maximum is not None and actual > maximum:
        yield f"Invalid {what} for parameter {path}, value: {actual}, valid max {what}: {maximum}"


@functools.cache
def _idempotency_member(operation: str) -> str | None:
    shape = service_model().operation_model(operation).input_shape
    if shape is None:
        return None
    for name, member in shape.members.items():
        if member.metadata.get("idempotencyToken"):
            return name
    return None
