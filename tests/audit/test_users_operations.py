"""The AWS operations `studio-factory users` calls, derived from the code by an AST scan.

``factory/audit/data/cloud_admin_operations.json`` is what ``studio-factory audit`` checks the
CloudAdminRole against (``factory/audit/derived/persona_jobs.py``). These tests keep it a
superset of what ``factory/users/`` and ``factory/cli/users*.py`` call, and keep SageMaker out:
the cloud admin provisions profiles through Service Catalog only (its launch role does the
SageMaker work), so every call must be (a) listed in the data file for its service and (b) not
a SageMaker operation.

What counts as a call (mirrors the publisher's scan in ``test_persona_operations.py``):

* any attribute ``<x>.<name>`` whose ``<name>`` is the Python name (``botocore.xform_name``) of
  an operation of one of :data:`SERVICES` in botocore's models, called or not (the users code
  passes bound methods to ``unpaged(sc.search_products, ...)``);
* ``<client>.get_paginator("name")`` and ``<client>.get_waiter("name")`` (a waiter's operation
  from botocore's waiter model);
* a string argument naming an operation in any other call, e.g.
  ``pages(clients.sc, "list_portfolios", ...)`` or ``getattr(client, "describe_user")``.

Which service: ``<x>`` is resolved by name. A name bound to ``<...>.client("svc")`` (also
wrapped in one call, ``sc=without_quota_retries(regional.client("servicecatalog"))``) in a
scanned file (``store = aws.client("identitystore", region)``, ``sc_once=...`` as a keyword,
``self.quotas = ...``) or in ``factory/aws.py``'s ``Clients`` (``sc``, ``s3``, ``ssm``,
``sts``) resolves to that service; a name bound to two services resolves to neither. A
resolved receiver whose service has no operation of that name is reported. For a string
argument the service is that of the one client among the call's other arguments.

Unresolved calls (the receiver is a parameter of another name, a call result, ...) and names
shared by several services (``list_tags``, ``tag_resource``, ``describe_parameters``, ...): the
call is accepted when ANY of the scanned services' operations of that name is listed in the
data file for a service other than SageMaker, and reported otherwise. This can miss a call
whose real service differs from the listed one of the same name (the permission check in
``studio-factory audit`` then still misses it); it never accepts an unlisted name. Today the
Service Catalog calls resolve (``sc``); the identity-store and quota calls do not (their
functions take a ``client`` parameter), but each of their names belongs to one service only.
A method of a service outside :data:`SERVICES` is seen only when its receiver resolves to that
service (any botocore service).
"""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
USERS_DIR = ROOT / "factory/users"
CLI_DIR = ROOT / "factory/cli"
CLIENTS_MODULE = ROOT / "factory/aws.py"  # Clients.create(...): sc, s3, ssm, sts
DATA_FILE = ROOT / "factory/audit/data/cloud_admin_operations.json"
#: botocore service names whose operations the scan looks for on unresolved receivers.
SERVICES = (
    "servicecatalog",
    "identitystore",
    "service-quotas",
    "sagemaker",
    "sso-admin",
    "cloudformation",
    "ssm",
    "sts",
    "s3",
)
FORBIDDEN = "sagemaker"
#: Client methods that name an operation in their first argument.
NAMED_OPERATION_METHODS = ("get_paginator", "get_waiter", "can_paginate")


# --- botocore's models ----------------------------------------------------------------------


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def operation_names(service: str) -> dict[str, str]:
    """Python method name -> botocore operation name (``search_products`` -> SearchProducts)."""
    model = _session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


@cache
def waiter_operations(service: str) -> dict[str, str]:
    """Python waiter name -> the operation it polls (botocore's waiter model)."""
    try:
        model = _session().get_waiter_model(service)
    except Exception:  # botocore raises DataNotFoundError: the service has no waiters
        return {}
    return {xform_name(name): model.get_waiter(name).operation for name in model.waiter_names}


@cache
def known_services() -> frozenset[str]:
    return frozenset(_session().get_available_services())


@cache
def candidates_by_name() -> dict[str, frozenset[tuple[str, str]]]:
    """Python name -> every (service, operation) of :data:`SERVICES` with that name."""
    found: dict[str, set[tuple[str, str]]] = {}
    for service in SERVICES:
        for python, operation in operation_names(service).items():
            found.setdefault(python, set()).add((service, operation))
    return {name: frozenset(pairs) for name, pairs in found.items()}


# --- the scan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One reference to an AWS operation in the code."""

    path: str
    line: int
    name: str  # python name: search_products
    service: str | None  # resolved from the receiver, else None
    candidates: frozenset[tuple[str, str]]  # (service, Operation) the name can be

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}: {self.name}"


def users_files() -> list[Path]:
    """``factory/users/**`` and ``factory/cli/users*.py`` (or the ``factory/cli/users/``
    package the command may become)."""
    cli = [*CLI_DIR.glob("users*.py"), *CLI_DIR.glob("users*/**/*.py")]
    return sorted({*USERS_DIR.rglob("*.py"), *cli})


def _client_service(node: ast.AST) -> str | None:
    """``<...>.client("svc")`` or ``<...>.client(service_name="svc")`` -> "svc", also wrapped
    in one call whose arguments hold exactly one such client (``without_retries(<client>)``)."""
    if not isinstance(node, ast.Call):
        return None
    if isinstance(node.func, ast.Attribute) and node.func.attr == "client":
        arguments = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "service_name")]
        for argument in arguments:
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                return argument.value
        return None
    wrapped = {
        service
        for argument in [*node.args, *(k.value for k in node.keywords)]
        if isinstance(argument, ast.Call)
        and isinstance(argument.func, ast.Attribute)
        and argument.func.attr == "client"
        and (service := _client_service(argument))
    }
    return next(iter(wrapped)) if len(wrapped) == 1 else None


def _target_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Attribute):
        yield target.attr


def client_bindings(trees: Iterable[ast.AST]) -> dict[str, str]:
    """Name -> service for names bound to a client (a name bound to two services is dropped)."""
    seen: dict[str, set[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                service = _client_service(node.value)
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets if service else ():
                    for name in _target_names(target):
                        seen.setdefault(name, set()).add(service)  # type: ignore[arg-type]
            elif isinstance(node, ast.keyword) and node.arg:
                service = _client_service(node.value)
                if service:
                    seen.setdefault(node.arg, set()).add(service)
    return {name: next(iter(services)) for name, services in seen.items() if len(services) == 1}


def _receiver_service(node: ast.expr, bindings: Mapping[str, str]) -> str | None:
    direct = _client_service(node)  # boto3.client("sts").get_caller_identity()
    if direct:
        return direct
    if isinstance(node, ast.Name):
        return bindings.get(node.id)
    if isinstance(node, ast.Attribute):  # clients.sc, self.ids
        return bindings.get(node.attr)
    return None


def _resolve(name: str, service: str | None, table: str = "operations") -> Call | None:
    """The call ``name`` on ``service`` (None: unresolved), or None if it names nothing.

    A receiver resolved to a client whose service has no such operation, while another
    scanned service does, gives a call with that service and no candidates: it is reported
    (the wrong client, or a name bound to a client reused for something else)."""
    if table == "waiters":
        pairs = {(s, w[name]) for s in SERVICES if name in (w := waiter_operations(s))}
    else:
        pairs = set(candidates_by_name().get(name, frozenset()))
    if service is not None and service in known_services():
        names = waiter_operations(service) if table == "waiters" else operation_names(service)
        if name in names:
            return Call("", 0, name, service, frozenset({(service, names[name])}))
        return Call("", 0, name, service, frozenset()) if pairs else None
    return Call("", 0, name, None, frozenset(pairs)) if pairs else None


def _calls_in(tree: ast.AST, bindings: Mapping[str, str]) -> Iterator[tuple[ast.AST, Call]]:
    named_arguments: set[int] = set()  # string arguments already read as a paginator/waiter name
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in NAMED_OPERATION_METHODS or not node.args:
            continue
        argument = node.args[0]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            named_arguments.add(id(argument))
            service = _receiver_service(node.func.value, bindings)
            table = "waiters" if node.func.attr == "get_waiter" else "operations"
            call = _resolve(argument.value, service, table)
            if call is not None:
                yield node, call
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            service = _receiver_service(node.value, bindings)
            call = _resolve(node.attr, service)
            if call is not None:
                yield node, call
        elif isinstance(node, ast.Call):
            yield from _string_arguments(node, bindings, named_arguments)


def _string_arguments(
    node: ast.Call, bindings: Mapping[str, str], skip: set[int]
) -> Iterator[tuple[ast.AST, Call]]:
    """``pages(clients.sc, "list_portfolios", ...)``: the client among the other arguments."""
    arguments = [*node.args, *(k.value for k in node.keywords)]
    clients = [s for a in arguments if (s := _receiver_service(a, bindings))]
    for argument in arguments:
        if id(argument) in skip:
            continue
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            service = clients[0] if len(clients) == 1 else None
            call = _resolve(argument.value, service)
            if call is not None:
                yield argument, call


def scan(paths: Iterable[Path], extra_bindings: Iterable[Path] = (CLIENTS_MODULE,)) -> set[Call]:
    """Every operation reference in ``paths`` (names bound in ``extra_bindings`` too)."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in paths}
    extra = [ast.parse(p.read_text(encoding="utf-8")) for p in extra_bindings]
    bindings = client_bindings([*extra, *trees.values()])
    found: set[Call] = set()
    for path, tree in trees.items():
        label = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
        for node, call in _calls_in(tree, bindings):
            found.add(
                Call(label, getattr(node, "lineno", 0), call.name, call.service, call.candidates)
            )
    return found


# --- the check ------------------------------------------------------------------------------


def listed_operations() -> set[tuple[str, str]]:
    document = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return {(e["service"], e["operation"]) for e in document["operations"]}


def problems(calls: Iterable[Call], listed: set[tuple[str, str]]) -> list[str]:
    """One line per call that is a SageMaker operation or is not listed for its service."""
    found = []
    for call in sorted(calls, key=lambda c: (c.path, c.line, c.name)):
        if call.service is not None and not call.candidates:
            found.append(
                f"{call.where}: the receiver is a {call.service} client, which has no such "
                "operation (another service's client bound to the same name?)"
            )
            continue
        if call.service is not None:
            ((service, operation),) = call.candidates
            if service == FORBIDDEN:
                found.append(
                    f"{call.where}: {service}:{operation} is a SageMaker operation; the cloud "
                    "admin holds no sagemaker permission (provision through Service Catalog)"
                )
            elif (service, operation) not in listed:
                found.append(
                    f"{call.where}: {service}:{operation} is not listed in "
                    f"{DATA_FILE.relative_to(ROOT)}"
                )
            continue
        if any(pair in listed and pair[0] != FORBIDDEN for pair in call.candidates):
            continue
        shown = ", ".join(f"{s}:{o}" for s, o in sorted(call.candidates))
        if {s for s, _ in call.candidates} == {FORBIDDEN}:
            what = f"{shown}, a SageMaker operation"
        else:
            what = shown if len(call.candidates) == 1 else f"one of {shown}"
        found.append(
            f"{call.where}: {what} (receiver not resolved to a client), none listed for a "
            f"service other than sagemaker in {DATA_FILE.relative_to(ROOT)}"
        )
    return found


# --- on the committed code ------------------------------------------------------------------


def test_scan_sees_the_users_files_and_their_clients() -> None:
    paths = users_files()
    assert {p.name for p in paths} >= {"provision.py", "bulk.py"}
    assert any("cli" in p.parts for p in paths), "no factory/cli/users* file found"
    bindings = client_bindings(ast.parse(p.read_text(encoding="utf-8")) for p in [CLIENTS_MODULE])
    assert bindings["sc"] == "servicecatalog"


def test_scan_finds_the_service_catalog_calls() -> None:
    """The scan works on today's code: it sees the end-user calls of `users add/list/import`
    on the Service Catalog client, resolved to their service."""
    calls = scan(users_files())
    resolved = {pair for c in calls if c.service for pair in c.candidates}
    expected = {
        ("servicecatalog", name)
        for name in ("SearchProvisionedProducts", "ProvisionProduct", "DescribeRecord")
    }
    assert expected <= resolved, sorted(expected - resolved)
    assert len({pair for c in calls for pair in c.candidates}) >= 8, calls


def test_every_users_call_is_a_listed_cloud_admin_operation() -> None:
    found = problems(scan(users_files()), listed_operations())
    assert not found, (
        "studio-factory users calls operations the CloudAdminRole is not checked for:\n  "
        + "\n  ".join(found)
        + f"\nList each in {DATA_FILE.relative_to(ROOT)} with its source (command, why), "
        "grant it in cloud_admin_statements() (factory/policies/personas.py), run "
        "studio-factory build, then studio-factory audit."
    )


def test_no_users_call_is_a_sagemaker_operation() -> None:
    for call in scan(users_files()):
        services = {s for s, _ in call.candidates}
        assert call.service != FORBIDDEN and services != {FORBIDDEN}, call.where


def test_data_file_lists_no_sagemaker_operation() -> None:
    assert not {s for s, _ in listed_operations()} & {FORBIDDEN}
    assert all(s in known_services() for s, _ in listed_operations())


# --- the scan can fail ----------------------------------------------------------------------

MUTANT = """
import boto3
from factory.aws import Clients, pages


def sneaky(region, profile, sc):
    clients = Clients.create(region, profile)
    clients.sc.create_portfolio(DisplayName="x", ProviderName="y")
    sc.delete_provisioned_product_plan(PlanId="p")
    sm = boto3.client("sagemaker")
    sm.create_user_profile(DomainId="d-1", UserProfileName="alice")
    ids = boto3.Session().client(service_name="identitystore")
    ids.get_paginator("list_groups")
    list(pages(clients.sc, "list_portfolios", "PortfolioDetails"))
    boto3.client("sts").assume_role(RoleArn="r", RoleSessionName="s")
    sm.get_waiter("endpoint_in_service")
    return something.describe_user_profile(DomainId="d-1", UserProfileName="alice")
"""


def mutated(tmp_path: Path) -> list[Path]:
    for path in users_files():
        shutil.copy(path, tmp_path / "_".join(path.relative_to(ROOT).parts))
    (tmp_path / "sneaky.py").write_text(MUTANT, encoding="utf-8")
    return sorted(tmp_path.glob("*.py"))


def test_scan_reports_unlisted_and_sagemaker_calls(tmp_path: Path) -> None:
    """Mutation: a users module calling Service Catalog admin, SageMaker and unlisted
    operations is reported, one line per call, each resolved to its service."""
    found = problems(scan(mutated(tmp_path)), listed_operations())
    assert all(line.startswith("sneaky.py:") for line in found), found
    text = "\n".join(found)
    for expected in (
        "servicecatalog:CreatePortfolio is not listed",
        "servicecatalog:DeleteProvisionedProductPlan is not listed",
        "sagemaker:CreateUserProfile is a SageMaker operation",
        "identitystore:ListGroups is not listed",
        "servicecatalog:ListPortfolios is not listed",
        "sts:AssumeRole is not listed",
        "sagemaker:DescribeEndpoint is a SageMaker operation",  # the waiter's operation
        "describe_user_profile: sagemaker:DescribeUserProfile, a SageMaker operation (",
    ):
        assert expected in text, f"{expected!r} not in:\n{text}"
    assert len(found) == 8, text


@pytest.mark.parametrize(
    ("source", "accepted"),
    [
        # unresolved, one candidate, listed for servicecatalog: accepted
        ("def f(client):\n    client.search_products()\n", True),
        # unresolved, only SageMaker has it: reported
        ("def f(client):\n    client.list_user_profiles()\n", False),
        # unresolved, shared by several services (sagemaker ListTags ...), none listed
        ("def f(client):\n    client.list_tags(ResourceArn='a')\n", False),
        # resolved: a listed name on the wrong service is still reported
        ("import boto3\nsm = boto3.client('sagemaker')\nsm.describe_user()\n", False),
        # the identity-store and quota reads of users sync / import: listed
        (
            "import boto3\nids = boto3.client('identitystore')\n"
            "ids.get_group_id(IdentityStoreId='d', AlternateIdentifier={})\n"
            "ids.get_paginator('list_group_memberships')\nids.describe_user()\n"
            "q = boto3.client('service-quotas')\nq.get_paginator('list_service_quotas')\n"
            "q.list_aws_default_service_quotas(ServiceCode='sagemaker')\n",
            True,
        ),
        # a client wrapped in one call still resolves (without_quota_retries(<client>))
        ("import boto3\nsm = wrap(boto3.client('sagemaker'))\nsm.describe_domain()\n", False),
        # a client passed with a string operation name: pages(<client>, "name", ...)
        ("import boto3\nsc = boto3.client('servicecatalog')\npages(sc, 'describe_record')\n", True),
        (
            "import boto3\nsc = boto3.client('servicecatalog')\npages(sc, 'list_portfolios')\n",
            False,
        ),
        # not AWS at all: plain attributes and strings are not operations
        ("import time\ntime.sleep(1)\nprint('search products')\n", True),
    ],
)
def test_service_resolution_and_shared_names(tmp_path: Path, source: str, accepted: bool) -> None:
    path = tmp_path / "snippet.py"
    path.write_text(source, encoding="utf-8")
    found = problems(scan([path]), listed_operations())
    assert (not found) == accepted, found


def test_a_name_bound_to_two_services_is_unresolved(tmp_path: Path) -> None:
    path = tmp_path / "snippet.py"
    path.write_text(
        "import boto3\nc = boto3.client('ssm')\nc = boto3.client('sagemaker')\nc.list_tags()\n",
        encoding="utf-8",
    )
    (call,) = scan([path])
    assert call.service is None and ("sagemaker", "ListTags") in call.candidates
