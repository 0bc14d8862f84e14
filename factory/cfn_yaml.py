"""The one loader for CloudFormation text (YAML or JSON): cfn-lint's decoder.

cfn-lint's decoder is what ``studio-factory build`` lints with, so what this module reads is
exactly what was linted: short-form intrinsics become their long form (``!Ref X`` ->
``{"Ref": "X"}``, ``!GetAtt A.B`` -> ``{"Fn::GetAtt": ["A", "B"]}``, ``!Sub s`` ->
``{"Fn::Sub": "s"}``), duplicate keys and null keys are errors, and every error carries the
line and column where it is. JSON templates are read by cfn-lint's JSON decoder, as cfn-lint
does when the YAML parser gives up.

Importing cfn-lint's decoder imports cfn-lint (about 0.6 s): only modules that read templates
should import this one, and only when they do.
"""

from __future__ import annotations

import copy
import datetime
import os
from functools import lru_cache
from pathlib import Path
from typing import Any


class TemplateError(ValueError):
    """A template that cannot be read: ``str()`` is ``name:line:column: message``."""

    def __init__(self, name: str, line: int, column: int, message: str) -> None:
        self.name, self.line, self.column, self.message = name, line, column, message
        where = f"{name}:{line}:{column}" if line else name
        super().__init__(f"{where}: {message}")


def load_template(source: str | os.PathLike[str], *, name: str | None = None) -> dict[str, Any]:
    """A CloudFormation template as plain dicts, lists and scalars.

    ``source`` is the template's text (``str``) or a path to it (``pathlib.Path`` or any
    ``os.PathLike``); ``name`` names it in errors (default: the path, or ``<template>``).
    Raises :class:`TemplateError` (a ``ValueError``) with the line and column of the
    problem when the text is not UTF-8, not YAML/JSON, or not a mapping.
    """
    text, label = _read(source, name)
    return copy.deepcopy(_load_plain(text, label))


@lru_cache(maxsize=32)
def _load_plain(text: str, label: str) -> dict[str, Any]:
    """Parsed once per text and name (``audit`` and ``publish`` read the same templates in
    several places; a parse costs ~0.1 s, a copy ~10 ms). Callers get a copy; a
    :class:`TemplateError` is raised again each time (exceptions are not cached)."""
    plain: dict[str, Any] = _plain(load_template_nodes(text, name=label))
    return plain


def load_template_nodes(source: str | os.PathLike[str], *, name: str | None = None) -> Any:
    """Like :func:`load_template`, but keeps cfn-lint's node types: every mapping, list and
    string has ``start_mark`` / ``end_mark`` (0-based ``line``, ``column``), for messages
    that point into the file."""
    text, label = _read(source, name)
    from cfnlint.decode import cfn_json, cfn_yaml
    from yaml import MarkedYAMLError
    from yaml.parser import ParserError
    from yaml.scanner import ScannerError

    try:
        template = cfn_yaml.loads(text, label)
    except cfn_yaml.CfnParseError as error:
        match = error.matches[0]
        raise TemplateError(label, match.linenumber, match.columnnumber, match.message) from None
    except (ScannerError, ParserError) as yaml_error:
        # Not YAML: cfn-lint then tries JSON (cfnlint.decode.decode), and so do we.
        try:
            template = cfn_json.loads(text, label)
        except Exception:  # the YAML error says more about a YAML-looking file
            raise _from_yaml(label, yaml_error) from None
    except MarkedYAMLError as yaml_error:
        raise _from_yaml(label, yaml_error) from None
    if not isinstance(template, dict):
        kind = "a list" if isinstance(template, list) else f"{type(template).__name__} value"
        raise TemplateError(label, 1, 1, f"expected a mapping (a template), got {kind}")
    return template


def _read(source: str | os.PathLike[str], name: str | None) -> tuple[str, str]:
    if isinstance(source, str):
        return source, name or "<template>"
    path = Path(source)
    label = name or str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise TemplateError(label, 0, 0, error.strerror or str(error)) from None
    try:
        return data.decode("utf-8"), label
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise TemplateError(
            label, line, column, f"not UTF-8 text (byte 0x{data[error.start]:02x})"
        ) from None


def _from_yaml(label: str, error: Exception) -> TemplateError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return TemplateError(label, 0, 0, f"not YAML or JSON ({problem})")
    return TemplateError(label, mark.line + 1, mark.column + 1, f"not YAML or JSON ({problem})")


def _plain(value: Any) -> Any:
    """cfn-lint's node types (dict/list/str subclasses carrying marks) as plain values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime.date):  # unquoted 2012-10-17: CloudFormation reads a string
        return value.isoformat()
    return value
