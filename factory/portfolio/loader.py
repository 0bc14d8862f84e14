"""Load `portfolios/*.yaml` for one environment into a validated `Catalog`.

Pipeline, per file: render the Jinja2 template with `env` (from
`portfolios/environments/<env>.yaml`), parse the YAML while recording where every value came
from, validate it with `PortfolioFile`, then check what spans files (unique ids, product
references, template files). Every problem of every file is collected and raised together as
one `PortfolioConfigError`, each `Issue` pointing at the source line of the offending node.

Line numbers survive rendering: before rendering, each source line that starts outside a Jinja
tag gets an invisible marker encoding its line number, made of Unicode space characters so that
Jinja's whitespace control (`{%-`, `-%}`, `trim_blocks`, `lstrip_blocks`) strips it exactly
like ordinary indentation. After rendering, the markers tell which source line produced each
output line and are removed before YAML parsing. Lines produced by loops map to the loop body,
newlines produced by an expression to the expression's line. Columns are those of the rendered
line: exact up to the first `{{ }}` on a line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, get_args, get_origin

import jinja2
import yaml
from pydantic import BaseModel, ValidationError

from factory.portfolio.models import (
    MAX_TAG_OPTIONS_PER_RESOURCE,
    PATTERN_HELP,
    SLUG_PATTERN,
    TEMPLATE_NAME_PATTERN,
    Environment,
    Portfolio,
    PortfolioFile,
    Product,
)

ENVIRONMENTS_DIR = "environments"
TEMPLATE_SUFFIX = ".yaml"

PathElement = str | int
DataPath = tuple[PathElement, ...]


# --- issues ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem in a definition file. `line` and `column` are 1-based source positions."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        location = self.file
        if self.line is not None:
            location += f":{self.line}"
            if self.column is not None:
                location += f":{self.column}"
        return (
            f"{location}: {self.path}: {self.message}"
            if self.path
            else f"{location}: {self.message}"
        )


class PortfolioConfigError(Exception):
    """The portfolio definitions are invalid; `issues` lists every problem found."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues: list[Issue] = sorted(issues, key=_issue_order)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)


def _issue_order(issue: Issue) -> tuple[str, int, int, str]:
    return (issue.file, issue.line or 0, issue.column or 0, issue.path)


def format_path(path: Iterable[PathElement]) -> str:
    """`("portfolios", 0, "principals", 3, "arn")` -> `portfolios[0].principals[3].arn`."""
    text = ""
    for element in path:
        if isinstance(element, int):
            text += f"[{element}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", element):
            text += f".{element}" if text else element
        else:
            text += f"[{element!r}]"
    return text


# --- YAML with positions --------------------------------------------------------------------

Position = tuple[int, int]


@dataclass
class _Document:
    """Parsed YAML plus the source position of every value (and of every mapping key)."""

    path: Path
    data: Any = None
    values: dict[DataPath, Position] = field(default_factory=dict)
    keys: dict[DataPath, Position] = field(default_factory=dict)

    def position(self, path: DataPath, *, key: bool = False) -> Position | None:
        """Position of `path`, or of its closest recorded ancestor."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            if path[:end] in self.values:
                return self.values[path[:end]]
        return None

    def issue(self, path: DataPath, message: str, *, key: bool = False) -> Issue:
        line, column = self.position(path, key=key) or (None, None)
        return Issue(str(self.path), line, column, format_path(path), message)


class _YamlProblem(Exception):
    def __init__(self, line: int | None, column: int | None, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


_STANDARD_TAG = "tag:yaml.org,2002:"


class _DocumentBuilder:
    """Turns a composed YAML node tree into Python data, recording positions as it goes."""

    def __init__(self, loader: yaml.SafeLoader, document: _Document, line_map: list[int]):
        self.loader = loader
        self.document = document
        self.line_map = line_map
        self.problems: list[Issue] = []
        self._active: set[int] = set()

    def position(self, mark: yaml.Mark) -> Position:
        line = self.line_map[min(mark.line, len(self.line_map) - 1)] if self.line_map else 1
        return line, mark.column + 1

    def problem(self, node: yaml.Node, path: DataPath, message: str) -> None:
        line, column = self.position(node.start_mark)
        self.problems.append(
            Issue(str(self.document.path), line, column, format_path(path), message)
        )

    def build(self, node: yaml.Node, path: DataPath = ()) -> Any:
        if id(node) in self._active:  # an alias inside its own anchor
            self.problem(node, path, "recursive YAML alias")
            return None
        if not node.tag.startswith(_STANDARD_TAG):
            self.problem(
                node,
                path,
                f"YAML tag {node.tag} is not supported; write CloudFormation functions in long "
                "form, e.g. {'Fn::Equals': [a, b]} instead of !Equals [a, b]",
            )
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self._child(item, (*path, i)) for i, item in enumerate(node.value)]
            return self.loader.construct_object(node)
        finally:
            self._active.discard(id(node))

    def _child(self, node: yaml.Node, path: DataPath) -> Any:
        self.document.values[path] = self.position(node.start_mark)
        return self.build(node, path)

    def _mapping(self, node: yaml.MappingNode, path: DataPath) -> dict[Any, Any]:
        own = sum(1 for key, _ in node.value if key.tag != f"{_STANDARD_TAG}merge")
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys, placed first
        merged = len(node.value) - own
        result: dict[Any, Any] = {}
        own_keys: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, path, "mapping keys must be plain scalars")
                continue
            key = self.loader.construct_object(key_node)
            child = (*path, key)
            key_position = self.position(key_node.start_mark)
            if index >= merged:  # explicit keys may override merged ones, not each other
                if key in own_keys:
                    line, column = self.document.keys[child]
                    message = f"duplicate key {key!r} (first at {line}:{column})"
                    self.problem(key_node, child, message)
                own_keys.add(key)
            self.document.keys[child] = key_position
            # Scalars are located by their value, containers by their key line.
            scalar = isinstance(value_node, yaml.ScalarNode)
            self.document.values[child] = (
                self.position(value_node.start_mark) if scalar else key_position
            )
            result[key] = self.build(value_node, child)
        return result


def _parse_yaml(text: str, document: _Document, line_map: list[int]) -> list[Issue]:
    """Fill `document` from `text`; return the problems found (syntax errors raise)."""
    loader = yaml.SafeLoader(text)
    builder = _DocumentBuilder(loader, document, line_map)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _yaml_problem(exc, builder) from exc
    finally:
        loader.dispose()
    document.data = builder.build(node) if node is not None else None
    return builder.problems


def _yaml_problem(exc: yaml.MarkedYAMLError, builder: _DocumentBuilder) -> _YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    line, column = builder.position(mark) if mark else (None, None)
    context = exc.context or ""
    if context and exc.context_mark is not None and exc.context_mark is not mark:
        context += " started at {}:{}".format(*builder.position(exc.context_mark))
    problem = ", ".join(part for part in (context, exc.problem) if part)
    return _YamlProblem(line, column, f"invalid YAML: {problem}")


# --- Jinja rendering with line markers ------------------------------------------------------

_MARKER_START, _MARKER_END, _MARKER_DIGIT0 = "\u3000", "\u200a", 0x2000
_MARKER_RE = re.compile(f"{_MARKER_START}([\u2000-\u2009]+){_MARKER_END}")
_TAG_OPEN_RE = re.compile(r"\{[{%#]")
_TAG_CLOSE = {"{{": "}}", "{%": "%}", "{#": "#}"}


def _marker(line: int) -> str:
    digits = "".join(chr(_MARKER_DIGIT0 + int(digit)) for digit in str(line))
    return f"{_MARKER_START}{digits}{_MARKER_END}"


def _add_line_markers(source: str) -> str:
    """Prefix each line that starts outside a tag (and is not a block/comment line)."""
    closer: str | None = None
    lines = []
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        starts_block = line.lstrip(" \t").startswith(("{%", "{#"))
        lines.append(line if closer or starts_block else _marker(number) + line)
        position = 0
        while True:
            if closer is None:
                match = _TAG_OPEN_RE.search(line, position)
                if not match:
                    break
                closer, position = _TAG_CLOSE[match.group()], match.end()
            else:
                end = line.find(closer, position)
                if end < 0:
                    break
                closer, position = None, end + 2
    return "".join(lines)


def _remove_line_markers(rendered: str) -> tuple[str, list[int]]:
    """Strip the markers; return the text and the source line of each output line."""
    lines, line_map, current = [], [], 1
    for line in rendered.split("\n"):
        found = _MARKER_RE.findall(line)
        if found:  # the last one: earlier ones belong to lines folded in by trim_blocks
            current = int("".join(str(ord(char) - _MARKER_DIGIT0) for char in found[-1]))
        line_map.append(current)
        lines.append(_MARKER_RE.sub("", line))
    return "\n".join(lines), line_map


class _Namespace:
    """Attribute view of environment values for templates.

    Unlike a dict it has no methods, so keys such as `values` or `items` are not shadowed,
    and a missing key produces an error that lists the keys that exist.
    """

    __slots__ = ("_data", "_label", "_origin")

    def __init__(self, data: Mapping[str, Any], label: str, origin: str) -> None:
        self._data = {key: _wrap(value, f"{label}.{key}", origin) for key, value in data.items()}
        self._label = label
        self._origin = origin

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in _Namespace.__slots__:
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __str__(self) -> str:
        return str({key: str(value) for key, value in self._data.items()})

    def missing(self, name: str) -> str:
        known = ", ".join(sorted(self._data)) or "nothing"
        return f"{self._label}.{name} is not defined by {self._origin}; it defines: {known}"


def _wrap(value: Any, label: str, origin: str) -> Any:
    if isinstance(value, Mapping):
        return _Namespace(value, label, origin)
    if isinstance(value, list):
        return [_wrap(item, f"{label}[{i}]", origin) for i, item in enumerate(value)]
    return value


class _StrictUndefined(jinja2.StrictUndefined):
    """StrictUndefined whose message names the missing environment value."""

    @property
    def _undefined_message(self) -> str:
        owner, name = self._undefined_obj, self._undefined_name
        if isinstance(owner, _Namespace) and name is not None:
            return owner.missing(name)
        return super()._undefined_message


class _SourceLoader(jinja2.BaseLoader):
    """Serves one marked-up file under its real file name (for traceback line numbers)."""

    def __init__(self, path: Path, source: str) -> None:
        self.path, self.source = path, source

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        if template != self.path.name:
            raise jinja2.TemplateNotFound(f"{template} (includes are not supported)")
        return self.source, str(self.path), lambda: True


def _render(path: Path, source: str, env: _Namespace) -> tuple[str, list[int]]:
    """Render `source`; return YAML text and its line map. Raises `_YamlProblem`."""
    jinja = jinja2.Environment(
        loader=_SourceLoader(path, _add_line_markers(source)),
        undefined=_StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    try:
        rendered = jinja.get_template(path.name).render(env=env)
    except jinja2.TemplateSyntaxError as exc:
        raise _YamlProblem(exc.lineno, None, f"invalid template: {exc.message}") from exc
    except Exception as exc:  # any error raised while evaluating the user's expressions
        line = _template_line(exc, str(path))
        message = _MARKER_RE.sub("", str(exc))
        if not isinstance(exc, jinja2.UndefinedError):
            message = f"template error: {message}"
        raise _YamlProblem(line, _column_of(source, line, exc), message) from exc
    return _remove_line_markers(rendered)


def _template_line(exc: BaseException, filename: str) -> int | None:
    """Jinja rewrites tracebacks so that template frames carry the template line."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _column_of(source: str, line: int | None, exc: BaseException) -> int | None:
    """Column of the undefined name on `line`, when it can be found."""
    if line is None or not isinstance(exc, jinja2.UndefinedError):
        return None
    lines = source.splitlines()
    text = lines[line - 1] if line <= len(lines) else ""
    match = re.search(r"\.(\w+) is not defined by", str(exc))
    if match:  # env.<name> or env['<name>']
        name = re.escape(match.group(1))
        found = re.search(rf"\.({name})\b|\[['\"]({name})['\"]\]", text)
        if found:
            return found.start(found.lastindex or 0) + 1
    found_at = text.find("{{")
    return found_at + 1 if found_at >= 0 else None


# --- validation errors -> issues ------------------------------------------------------------


def _resolve(data: Any, loc: tuple[PathElement, ...]) -> tuple[DataPath, bool]:
    """Map a pydantic `loc` onto the data: drop union tags, flag dict-key errors."""
    path: list[PathElement] = []
    node, is_key = data, False
    for element in loc:
        if element == "[key]":
            is_key = True
        elif isinstance(node, dict):
            path.append(element)
            node = node.get(element)
        elif isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
            path.append(element)
            node = node[element]
        # otherwise: a union tag such as 'products' in attach_to; not part of the data
    return tuple(path), is_key


def _model_at(root: type[BaseModel], path: DataPath) -> type[BaseModel] | None:
    """The model class validating the value at `path` (for listing allowed keys)."""
    annotation: Any = root
    for element in path:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(element) if isinstance(element, str) else None
            if info is None:
                return None
            annotation = info.annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and `X | None`."""
    while True:
        args = get_args(annotation)
        if hasattr(annotation, "__metadata__"):
            annotation = args[0]
        elif args and get_origin(annotation) not in (list, dict) and type(None) in args:
            annotation = next(arg for arg in args if arg is not type(None))
        else:
            return annotation


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _message(error: Mapping[str, Any], path: DataPath, root: type[BaseModel]) -> str:
    """A message naming the bad value and what is allowed."""
    kind, value, context = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "portfolio_rule":  # our own validators already name the value
        return str(error["msg"])
    if kind == "missing":
        return f"required key {path[-1]!r} is missing"
    if kind == "extra_forbidden":
        allowed = list(model.model_fields) if (model := _model_at(root, path[:-1])) else []
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {path[-1]!r}{hint}; allowed keys: {', '.join(allowed) or '?'}"
    if kind == "string_pattern_mismatch":
        pattern = str(context.get("pattern", ""))
        expected = PATTERN_HELP.get(pattern, f"a value matching {pattern}")
        return f"expected {expected}, got {_show(value)}"
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f"expected a string, got the number {value!r}: put it in quotes "
            "(unquoted, YAML even reads 011111111111 as the octal number 1227133513)"
        )
    if isinstance(value, dict | list):  # the message already says what is wrong with it
        return str(error["msg"])
    return f"{error['msg']}, got {_show(value)}"


def _validation_issues(
    exc: ValidationError, document: _Document, root: type[BaseModel]
) -> list[Issue]:
    issues = []
    for error in exc.errors(include_url=False):
        path, is_key = _resolve(document.data, tuple(error["loc"]))
        at = (error.get("ctx") or {}).get("at", ())
        path = (*path, *at)
        message = _message(error, path, root)
        is_key = is_key or error["type"] == "extra_forbidden"
        issues.append(document.issue(path, message, key=is_key))
    return issues


def _validate(document: _Document, model: type[BaseModel]) -> tuple[Any, list[Issue]]:
    if not isinstance(document.data, dict):
        expected = f"a mapping with the keys {', '.join(model.model_fields)}"
        if document.data is None:
            message = f"the file is empty; expected {expected}"
        else:
            message = f"expected {expected}, got {_show(document.data)}"
        return None, [document.issue((), message)]
    try:
        return model.model_validate(document.data), []
    except ValidationError as exc:
        return None, _validation_issues(exc, document, model)


# --- environment ----------------------------------------------------------------------------


def available_environments(portfolios_dir: Path) -> list[str]:
    """Names of the environments defined in `portfolios_dir/environments/`."""
    return sorted(path.stem for path in (Path(portfolios_dir) / ENVIRONMENTS_DIR).glob("*.yaml"))


def load_environment(portfolios_dir: Path, env: str) -> Environment:
    """Load and validate `portfolios_dir/environments/<env>.yaml`."""
    path = Path(portfolios_dir) / ENVIRONMENTS_DIR / f"{env}.yaml"
    if not re.fullmatch(SLUG_PATTERN, env) or not path.is_file():
        known = ", ".join(available_environments(portfolios_dir)) or "none"
        _fail([Issue(str(path), None, None, "", f"unknown environment {env!r}; defined: {known}")])
    document = _Document(path)
    source, problem = _read_text(path)
    if problem is not None:
        _fail([problem])
    environment, _, issues = _check_document(document, source, None, Environment)
    name = document.data.get("name") if isinstance(document.data, dict) else None
    if isinstance(name, str) and name != env:
        issues.append(document.issue(("name",), f"must be the file name {env!r}, got {name!r}"))
    if issues:
        _fail(issues)
    assert isinstance(environment, Environment)
    return environment


#: `portfolios/personas.yaml`: read by factory.portfolio.personas, skipped by load_catalog.
PERSONAS_FILE = "personas.yaml"


def _read_text(path: Path) -> tuple[str, Issue | None]:
    """The file's text, or the problem that makes it unreadable (binary, not UTF-8, gone)."""
    try:
        return path.read_text(encoding="utf-8"), None
    except UnicodeDecodeError as exc:
        message = (
            f"not UTF-8 text (byte {exc.start}: a binary file?); portfolio files are YAML text"
        )
    except OSError as exc:
        message = f"cannot read: {exc.strerror or exc}"
    return "", Issue(str(path), None, None, "", message)


def _fail(issues: list[Issue]) -> NoReturn:
    raise PortfolioConfigError(issues)


def _read_document(
    document: _Document, source: str, env: _Namespace | None
) -> tuple[bool, list[Issue]]:
    """Render (when `env` is given) and parse one file into `document`.

    Returns whether the file could be parsed at all, and the problems found.
    """
    try:
        if env is None:
            text, line_map = source, list(range(1, source.count("\n") + 2))
        else:
            text, line_map = _render(document.path, source, env)
        return True, _parse_yaml(text, document, line_map)
    except _YamlProblem as problem:
        issue = Issue(str(document.path), problem.line, problem.column, "", problem.message)
        return False, [issue]


def _check_document(
    document: _Document, source: str, env: _Namespace | None, model: type[BaseModel]
) -> tuple[Any, bool, list[Issue]]:
    """Read and validate one file: (model instance or None, parsed?, problems)."""
    parsed, issues = _read_document(document, source, env)
    if not parsed:
        return None, False, issues
    instance, validation = _validate(document, model)
    # A value the parser already rejected (e.g. an unsupported tag) is not reported twice.
    reported = {(issue.line, issue.path) for issue in issues}
    issues += [issue for issue in validation if (issue.line, issue.path) not in reported]
    return instance, True, issues


# --- checks across files --------------------------------------------------------------------


def _items(data: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, mapping) of the list `data[key]`, tolerating malformed data."""
    items = data.get(key) if isinstance(data, dict) else None
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield index, item


def _unique_ids(
    documents: list[_Document], section: str, kind: str
) -> tuple[set[str], list[Issue]]:
    """Check that `<section>[*].id` values are unique across all documents."""
    first: dict[str, tuple[_Document, DataPath]] = {}
    issues = []
    for document in documents:
        for index, item in _items(document.data, section):
            value, path = item.get("id"), (section, index, "id")
            if not isinstance(value, str):
                continue
            if value in first:
                other, other_path = first[value]
                line, column = other.position(other_path) or (None, None)
                issues.append(
                    document.issue(
                        path,
                        f"duplicate {kind} id {value!r}: already defined at "
                        f"{other.path}:{line}:{column}",
                    )
                )
            else:
                first[value] = (document, path)
    return set(first), issues


def _display_key(name: str) -> str:
    """Names people would take for the same one in the console: case and spacing ignored."""
    return " ".join(name.split()).casefold()


def _unique_display_names(documents: list[_Document], section: str, kind: str) -> list[Issue]:
    """Check that `<section>[*].display_name` values are unique across all documents.

    Service Catalog does not require unique names (FIELD-NOTES, "Service Catalog behaviour a
    publisher must survive"; CreatePortfolio/CreateProduct take no unique name): the publisher
    tells its resources apart by their id tag, but people choose in the console by name.
    """
    first: dict[str, tuple[_Document, DataPath, str, Any]] = {}
    issues = []
    for document in documents:
        for index, item in _items(document.data, section):
            name, path = item.get("display_name"), (section, index, "display_name")
            if not isinstance(name, str) or not name.strip():
                continue  # reported by the schema
            key = _display_key(name)
            if key not in first:
                first[key] = (document, path, name, item.get("id"))
                continue
            other, other_path, other_name, other_id = first[key]
            line, column = other.position(other_path) or (None, None)
            same = "" if other_name == name else f" ({other_name!r}, ignoring case and spacing)"
            message = (
                f"duplicate {kind} display_name {name!r}: {kind} {other_id!r} at "
                f"{other.path}:{line}:{column} has the same name{same}; people choose "
                f"{kind}s by name in the console: give each a distinct display_name"
            )
            issues.append(document.issue(path, message))
    return issues


def _template_issues(documents: list[_Document], templates_dir: Path) -> list[Issue]:
    available = sorted(p.stem for p in templates_dir.glob(f"*{TEMPLATE_SUFFIX}"))
    issues = []
    for document in documents:
        for index, item in _items(document.data, "products"):
            name = item.get("template")
            if not isinstance(name, str) or not re.fullmatch(TEMPLATE_NAME_PATTERN, name):
                continue  # reported by the schema
            if not (templates_dir / f"{name}{TEMPLATE_SUFFIX}").is_file():
                message = (
                    f"template {name!r} not found: expected {templates_dir / name}"
                    f"{TEMPLATE_SUFFIX}; available: {', '.join(available) or 'none'}"
                )
                issues.append(document.issue(("products", index, "template"), message))
    return issues


def _reference_issues(documents: list[_Document], products: set[str]) -> list[Issue]:
    known = ", ".join(sorted(products)) or "none"
    issues = []
    for document in documents:
        for p_index, portfolio in _items(document.data, "portfolios"):
            for r_index, ref in _items(portfolio, "products"):
                product = ref.get("product")
                if isinstance(product, str) and product not in products:
                    path = ("portfolios", p_index, "products", r_index, "product")
                    message = f"unknown product {product!r}; products defined: {known}"
                    issues.append(document.issue(path, message))
    return issues


def _product_tag_option_issues(documents: list[_Document]) -> list[Issue]:
    """TagOptions attached to one product by every portfolio, within the per-resource quota.

    The publisher associates the union of (key, value) pairs with the product itself
    (AssociateTagOptionWithResource), so portfolios in different files add up. The problem
    is reported where the first pair over the quota is attached.
    """
    pairs: dict[str, set[tuple[str, str]]] = {}
    sources: dict[str, list[str]] = {}
    first_over: dict[str, tuple[_Document, DataPath]] = {}
    for document in documents:
        for p_index, portfolio in _items(document.data, "portfolios"):
            for o_index, option in _items(portfolio, "tag_options"):
                targets, values = option.get("attach_to"), option.get("values")
                if not (isinstance(targets, list) and isinstance(values, list)):
                    continue  # attached to the portfolio, or reported by the schema
                for product in (t for t in targets if isinstance(t, str)):
                    attached = pairs.setdefault(product, set())
                    attached.update((str(option.get("key")), str(value)) for value in values)
                    sources.setdefault(product, []).append(str(portfolio.get("id")))
                    if len(attached) > MAX_TAG_OPTIONS_PER_RESOURCE:
                        path = ("portfolios", p_index, "tag_options", o_index, "attach_to")
                        first_over.setdefault(product, (document, path))
    issues = []
    for product, (document, path) in first_over.items():
        portfolios = ", ".join(dict.fromkeys(sources[product]))
        message = (
            f"product {product!r} gets {len(pairs[product])} TagOptions from portfolios "
            f"{portfolios} (each value is one TagOption); Service Catalog allows "
            f"{MAX_TAG_OPTIONS_PER_RESOURCE} per product: remove values or attach them to "
            "the portfolio instead"
        )
        issues.append(document.issue(path, message))
    return issues


def _topic_region(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) >= 6 and parts[2] == "sns" and parts[3] else None


def _notification_region_issues(documents: list[_Document], regions: Sequence[str]) -> list[Issue]:
    """NOTIFICATION topics must be in every region the catalog is published to.

    Service Catalog passes the topics to the CloudFormation stack it creates in the launch
    region; the API Reference does not say a topic may be elsewhere, so model the worst case
    (Landing Zone Accelerator's ProductConstraintConfig: "The SNS Topic must exist in the same
    account and region"). Checked only when the regions are known (`regions`, or the
    environment's `regions`).
    """
    issues = []
    for document in documents:
        for p_index, portfolio in _items(document.data, "portfolios"):
            for r_index, ref in _items(portfolio, "products"):
                arns = ref.get("notification_arns")
                for a_index, arn in enumerate(arns if isinstance(arns, list) else []):
                    region = _topic_region(arn) if isinstance(arn, str) else None
                    others = [r for r in regions if r != region]
                    if region is None or not others:
                        continue  # malformed ARNs are reported by the schema
                    path = (
                        *("portfolios", p_index, "products", r_index),
                        *("notification_arns", a_index),
                    )
                    issues.append(document.issue(path, _topic_region_message(region, regions)))
    return issues


def _topic_region_message(region: str, regions: Sequence[str]) -> str:
    fix = (
        f"use a topic in {regions[0]}"
        if len(regions) == 1
        else f"a topic is in one region: publish this catalog to {region} only, or drop the topic"
    )
    return (
        f"SNS topic in {region}, but the catalog is published to {', '.join(regions)}: "
        f"Service Catalog sends stack events to topics in the launch region; {fix}"
    )


def _cross_file_issues(
    documents: list[_Document], templates_dir: Path, regions: Sequence[str], *, complete: bool
) -> list[Issue]:
    """Checks spanning files. Product references are only checked when every file parsed
    (`complete`), otherwise products of an unreadable file would be reported as unknown."""
    products, issues = _unique_ids(documents, "products", "product")
    issues += _unique_ids(documents, "portfolios", "portfolio")[1]
    issues += _unique_display_names(documents, "products", "product")
    issues += _unique_display_names(documents, "portfolios", "portfolio")
    issues += _template_issues(documents, templates_dir)
    issues += _product_tag_option_issues(documents)
    issues += _notification_region_issues(documents, regions)
    if complete:
        issues += _reference_issues(documents, products)
    return issues


def _file_set_issues(portfolios_dir: Path, files: list[Path]) -> list[Issue]:
    """An empty definition set is an error: publishing it would look like 'no portfolios'."""
    issues = [
        Issue(str(path), None, None, "", "portfolio files must end in .yaml; rename it")
        for path in sorted(portfolios_dir.glob("*.yml"))
    ]
    if not files:
        issues.append(Issue(str(portfolios_dir), None, None, "", "no portfolio files (*.yaml)"))
    return issues


# --- catalog --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """Validated portfolio definitions for one environment."""

    environment: Environment
    portfolios: list[Portfolio]
    products: dict[str, Product]
    source_files: list[Path]
    environment_file: Path
    templates_dir: Path

    def portfolio(self, portfolio_id: str) -> Portfolio:
        """The portfolio with id `portfolio_id` (KeyError if there is none)."""
        for portfolio in self.portfolios:
            if portfolio.id == portfolio_id:
                return portfolio
        raise KeyError(portfolio_id)

    def portfolios_with(self, product_id: str) -> list[Portfolio]:
        """The portfolios that list `product_id`."""
        return [p for p in self.portfolios if any(r.product == product_id for r in p.products)]

    def template_path(self, product_id: str) -> Path:
        """The CloudFormation template file of a product."""
        return self.templates_dir / f"{self.products[product_id].template}{TEMPLATE_SUFFIX}"


def load_catalog(
    portfolios_dir: Path, env: str, templates_dir: Path, regions: Sequence[str] = ()
) -> Catalog:
    """Load every `portfolios_dir/*.yaml` rendered for environment `env`.

    `regions` are the regions the catalog is about to be published to (default: the
    environment's `regions`); region-dependent rules are checked against them.
    Raises `PortfolioConfigError` listing every problem of every file.
    """
    portfolios_dir, templates_dir = Path(portfolios_dir), Path(templates_dir)
    environment = load_environment(portfolios_dir, env)
    origin = f"environment {env!r} ({portfolios_dir / ENVIRONMENTS_DIR / env}.yaml)"
    namespace = _Namespace(environment.template_context(), "env", origin)

    # personas.yaml holds personas (factory.portfolio.personas), not portfolios.
    files = sorted(p for p in portfolios_dir.glob("*.yaml") if p.name != PERSONAS_FILE)
    documents: list[_Document] = []
    models: list[PortfolioFile] = []
    issues = _file_set_issues(portfolios_dir, files)
    complete = True
    for path in files:
        document = _Document(path)
        source, problem = _read_text(path)
        if problem is not None:
            issues.append(problem)
            complete = False
            continue
        model, parsed, problems = _check_document(document, source, namespace, PortfolioFile)
        complete = complete and parsed
        issues += problems
        documents.append(document)
        if model is not None:
            models.append(model)
    publish_regions = list(regions) or environment.regions
    issues += _cross_file_issues(documents, templates_dir, publish_regions, complete=complete)
    if issues:
        _fail(issues)
    return Catalog(
        environment=environment,
        portfolios=[portfolio for model in models for portfolio in model.portfolios],
        products={product.id: product for model in models for product in model.products},
        source_files=files,
        environment_file=portfolios_dir / ENVIRONMENTS_DIR / f"{env}.yaml",
        templates_dir=templates_dir,
    )
