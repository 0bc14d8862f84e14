"""The publisher's AWS operations, derived from the code: recorded at run time and scanned.

``factory/audit/data/publisher_operations.json`` is what ``studio-factory audit`` checks the
PublisherRole against (``factory/audit/derived/persona_jobs.py``). These tests keep it equal to
what the publisher really calls:

* a scenario drives ``plan`` and ``publish`` through every path (first publish, no-op, changed
  templates and the version policy, constraint/principal/TagOption/share changes, prune)
  against local AWS inside :class:`factory.testing.recorder.OperationRecorder`;
* an AST scan of ``factory/publish/`` finds every client method referenced in the code (and
  every ``get_paginator("...")`` name), so a call on a path the scenario misses fails as well.

Regenerate the data file after changing the publisher:
``STUDIO_FACTORY_RECORD=1 .venv/bin/python -m pytest -q tests/audit/test_persona_operations.py``.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from click.testing import CliRunner

from factory.cli import cli
from factory.cli import plan as plan_cli
from factory.cli import publish as publish_cli
from factory.naming import TEMPLATE_BUCKET_SSM_PARAMETER
from factory.testing.local_aws import LocalAWS
from factory.testing.recorder import OperationRecorder
from tests.support.shared import once_per_run

ROOT = Path(__file__).resolve().parents[2]
PUBLISH_DIR = ROOT / "factory/publish"
#: The one AWS layer the publisher's clients come from (Clients, bucket_from_ssm, pages).
AWS_MODULE = ROOT / "factory/aws.py"
DATA_FILE = ROOT / "factory/audit/data/publisher_operations.json"
RECORD_ENV = "STUDIO_FACTORY_RECORD"
REGENERATE = f"{RECORD_ENV}=1 .venv/bin/python -m pytest -q tests/audit/test_persona_operations.py"
BUCKET = "studio-catalog-templates"
REGION = "us-east-1"
ENVIRONMENT = """name: dev
accounts:
  catalog: "123456789012"
  workload: "210987654321"
values:
  ml_workloads_ou: ou-ab12-34567890
"""
TOPIC = "arn:aws:sns:us-east-1:111111111111:studio-catalog-events"

cli.add_command(plan_cli.command)
cli.add_command(publish_cli.command)


# --- the scenario ---------------------------------------------------------------------------


def catalog_yaml(stage: dict[str, Any]) -> str:
    """A catalog exercising every constraint type, both TagOption targets and both shares."""
    products = stage.get("products", ["alpha", "beta", "gamma"])
    product_defs = "".join(
        f"""
  - id: {p}
    template: {p}
    display_name: Product {p}
    owner: ML Platform team
    description: {stage.get("product_description", "first")}
    version_policy:
      keep_active: 1
      keep_deprecated: 1
      delete_inactive: true
"""
        for p in products
    )
    rules = """
        template_rules:
          NameRule:
            Assertions:
              - Assert: {"Fn::Not": [{"Fn::Equals": [{"Ref": "UserProfileName"}, ""]}]}
                AssertDescription: A profile needs a name."""
    refs = ""
    for p in products:
        refs += f"\n      - product: {p}"
        if p == "alpha":
            refs += (
                f"\n        launch_role:\n          local_role_name: {stage.get('role', 'RoleA')}"
            )
            refs += f"\n        notification_arns: ['{TOPIC}']"
            refs += rules if stage.get("rules", True) else ""
    principals = (
        '\n      - type: IAM\n        arn: "arn:aws:iam::{{ env.accounts.catalog }}:role/A"'
    )
    if stage.get("second_principal", True):
        principals += '\n      - type: IAM_PATTERN\n        arn: "arn:aws:iam:::role/team/*"'
    team_option = (
        "\n      - key: Team\n        values: [ml]\n        attach_to: [gamma]"
        if "gamma" in products
        else ""
    )
    ou_share = (
        "\n      organization_nodes:\n        - type: ORGANIZATIONAL_UNIT\n"
        f"          value: {stage.get('ou', 'ou-abcd-11111111')}"
        if stage.get("ou_share", True)
        else ""
    )
    if stage.get("organization"):
        ou_share += f"\n        - type: ORGANIZATION\n          value: {stage['organization']}"
    extra = (
        """
  - id: extra
    display_name: Extra
    provider_name: ML Platform team
    principals:
      - type: IAM
        arn: "arn:aws:iam::{{ env.accounts.catalog }}:role/A"
    products: []
    sharing:
      accounts: ["{{ env.accounts.workload }}"]"""
        if stage.get("extra_portfolio")
        else ""
    )
    return f"""version: 1
products:{product_defs}
portfolios:{extra}
  - id: studio
    display_name: Studio
    description: {stage.get("portfolio_description", "first")}
    provider_name: ML Platform team
    principals:{principals}
    products:{refs}
    tag_options:
      - key: CostCenter
        values: ["{stage.get("cost_center", "CC-1")}"]
        attach_to: portfolio{team_option}
    sharing:
      accounts: ["{{{{ env.accounts.workload }}}}"]
{ou_share}
      share_tag_options: {str(stage.get("share_tag_options", True)).lower()}
"""


def write_stage(root: Path, stage: dict[str, Any]) -> None:
    (root / "portfolios/catalog.yaml").write_text(catalog_yaml(stage), encoding="utf-8")


def change_template(root: Path, name: str, marker: str) -> None:
    path = root / "templates" / f"{name}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + f"\n# {marker}\n", encoding="utf-8")


def invoke(root: Path, command: str, *extra: str) -> Any:
    args = [
        command,
        *("--env", "dev", "--region", REGION),
        *("--portfolios", str(root / "portfolios"), "--templates", str(root / "templates")),
        *extra,
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code in (0, 2), result.output
    return result


def publish(root: Path, *extra: str) -> None:
    """Without --bucket: the publisher reads the bucket name from the bootstrap's SSM parameter."""
    result = invoke(root, "publish", "--yes", *extra)
    assert result.exit_code == 0, result.output


def leave_expired_lock(aws: LocalAWS) -> None:
    """Set up: the lock of a run that crashed an hour ago (not recorded: default session)."""
    from factory.publish.lock import LockRecord, format_time, lock_key

    stale = LockRecord(
        holder="crashed-run",
        run_id="0",
        acquired_at=format_time(time.time() - 7200),
        expires_at=format_time(time.time() - 3600),
        region=REGION,
    )
    aws.client("s3").put_object(Bucket=BUCKET, Key=lock_key(REGION), Body=stale.body())


def deactivate_tag_option(aws: LocalAWS, key: str, value: str) -> None:
    """Set up (outside the code under test: the default session is not recorded)."""
    sc = aws.client("servicecatalog")
    found = sc.list_tag_options(Filters={"Key": key, "Value": value})["TagOptionDetails"]
    sc.update_tag_option(Id=found[0]["Id"], Active=False)


def drive_publisher(aws: LocalAWS, root: Path) -> None:
    """Every path of plan + publish, in the order a catalog's life takes them."""
    write_stage(root, {})
    invoke(root, "plan")
    publish(root)  # first publish: creates, uploads, constraints, principals, shares
    invoke(root, "plan", "--output", "json")
    publish(root)  # no-op
    change_template(root, "beta", "v2")
    write_stage(
        root,
        {
            "portfolio_description": "second",
            "product_description": "second",
            "role": "RoleB",
            "rules": False,
            "second_principal": False,
            "share_tag_options": False,
            "cost_center": "CC-2",
        },
    )
    publish(root)  # updates, new version + version policy, constraint update/delete, unshare
    change_template(root, "beta", "v3")
    deactivate_tag_option(aws, "CostCenter", "CC-1")
    write_stage(root, {"cost_center": "CC-1", "products": ["alpha", "beta"]})
    invoke(root, "plan")
    publish(root)  # orphan gamma reported, TagOption re-activated, old version deleted
    publish(root, "--prune")  # gamma: constraints, association, TagOptions, product
    write_stage(root, {"cost_center": "CC-1", "products": ["alpha", "beta"], "ou_share": False})
    publish(root)  # the OU share leaves the YAML: DeletePortfolioShare
    write_stage(
        root,
        {
            "cost_center": "CC-1",
            "products": ["alpha", "beta"],
            "ou_share": False,
            "extra_portfolio": True,
        },
    )
    leave_expired_lock(aws)
    publish(root)  # a crashed run's expired lock is taken over; a second portfolio is made
    write_stage(root, {"cost_center": "CC-1", "products": ["alpha", "beta"], "ou_share": False})
    publish(root, "--prune")  # its share, principal, then the portfolio; in-use search
    # Until now no bootstrap StackSet: the coverage check stopped at ListStackInstances.
    organization, ou = bootstrap_stack_set(aws)
    write_stage(root, {"products": ["alpha", "beta"], "ou": ou, "organization": organization})
    invoke(root, "plan")  # coverage: stack instances, accounts of the OU and of the root


def bootstrap_stack_set(aws: LocalAWS) -> tuple[str, str]:
    """Set up (default session, not recorded): an organization with one OU and one account,
    and the bootstrap StackSet without instances (factory.publish.coverage reads it)."""
    org = aws.client("organizations")
    organization = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="ml")["OrganizationalUnit"]["Id"]
    account = org.create_account(AccountName="ml", Email="ml@example.com")
    account_id = account["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ou)
    body = "Resources:\n  Handle:\n    Type: AWS::CloudFormation::WaitConditionHandle\n"
    aws.client("cloudformation").create_stack_set(
        StackSetName="studio-catalog-bootstrap",
        TemplateBody=body,
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
        CallAs="SELF",
    )
    return organization, ou


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAWS(REGION) as local:
        yield local


def prepare_workspace(aws: LocalAWS, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Local AWS emptied, with the template bucket and its SSM parameter, and ``root`` holding
    ``portfolios/environments/dev.yaml`` and the templates alpha, beta, gamma."""
    from factory.publish import context
    from tests.conftest import CREATE_CHECK_DELAYS_S

    monkeypatch.setattr(context, "CREATE_CHECK_DELAYS_S", CREATE_CHECK_DELAYS_S)
    aws.reset()
    aws.standin.configure(latency_s=0.0, throttle_rate=0.0, seed=7)
    for name, value in aws.env.items():
        monkeypatch.setenv(name, value)
    aws.client("s3").create_bucket(Bucket=BUCKET)
    aws.client("ssm").put_parameter(
        Name=TEMPLATE_BUCKET_SSM_PARAMETER, Value=BUCKET, Type="String", Overwrite=True
    )
    (root / "portfolios" / "environments").mkdir(parents=True)
    # No sample placeholder, and moto's account: publish's environment check runs for real.
    (root / "portfolios/environments/dev.yaml").write_text(ENVIRONMENT, encoding="utf-8")
    (root / "templates").mkdir()
    for name in ("alpha", "beta", "gamma"):
        shutil.copy(ROOT / "templates/studio-user-profile.yaml", root / f"templates/{name}.yaml")
    return root


@dataclass(frozen=True)
class ScenarioRun:
    """One run of :func:`drive_publisher`: the operations it sent (recorded) and the names of
    the step types whose ``apply`` ran."""

    operations: list[dict[str, str]]
    steps_applied: set[str]


@pytest.fixture(scope="module")
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> ScenarioRun:
    """The scenario, run once for the tests that check its recording and its coverage of the
    step types (a spy on ``apply`` calls no AWS, so the recording is the same without it);
    once per test run: xdist workers share the result (tests.support.shared)."""

    def run_scenario(directory: Path) -> ScenarioRun:
        from factory.publish import steps

        aws: LocalAWS = request.getfixturevalue("aws")
        seen: set[str] = set()

        def spy(cls: type[steps.Step]) -> Any:
            original = cls.apply

            def run(self: steps.Step, ctx: Any) -> None:
                seen.add(type(self).__name__)
                original(self, ctx)

            return run

        with pytest.MonkeyPatch.context() as mp:
            root = prepare_workspace(aws, directory, mp)
            for cls in steps.step_types():
                if "apply" in vars(cls):
                    mp.setattr(cls, "apply", spy(cls))
            with OperationRecorder() as recorder:
                drive_publisher(aws, root)
        return ScenarioRun(operations=recorder.operations(), steps_applied=seen)

    return once_per_run(tmp_path_factory, "publisher-scenario", run_scenario)


# --- the committed data file ----------------------------------------------------------------


def committed() -> list[dict[str, str]]:
    data: list[dict[str, str]] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data


def write_data_file(operations: list[dict[str, str]]) -> None:
    DATA_FILE.parent.mkdir(parents=True, exist_ok=True)
    DATA_FILE.write_text(json.dumps(operations, indent=2) + "\n", encoding="utf-8")


def _keys(operations: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(o["service"], o["operation"]) for o in operations}


def test_recorded_operations_equal_the_data_file(scenario: ScenarioRun) -> None:
    recorded = scenario.operations
    if os.environ.get(RECORD_ENV) == "1":
        write_data_file(recorded)
    expected = committed()
    missing = sorted(_keys(recorded) - _keys(expected))
    extra = sorted(_keys(expected) - _keys(recorded))
    assert recorded == expected, (
        f"{DATA_FILE.relative_to(ROOT)} is out of date with the publisher.\n"
        f"  called but not listed: {missing}\n  listed but not called: {extra}\n"
        f"Regenerate it with: {REGENERATE}\n"
        "then check that the PublisherRole allows the new operations (studio-factory audit)."
    )


def test_data_file_is_sorted_and_unique() -> None:
    operations = committed()
    assert operations == sorted(operations, key=lambda o: (o["service"], o["operation"]))
    assert len(_keys(operations)) == len(operations)
    assert all(set(o) == {"service", "operation"} for o in operations)


def test_scenario_hits_every_apply_step(scenario: ScenarioRun) -> None:
    """Guards the scenario itself: each kind of publisher step runs at least once."""
    from factory.publish import steps

    kinds = steps.step_types()
    seen = scenario.steps_applied
    assert {cls.__name__ for cls in kinds} - seen == set(), sorted(
        {cls.__name__ for cls in kinds} - seen
    )


# --- static cross-check ---------------------------------------------------------------------


@cache
def _operation_names(service: str) -> dict[str, str]:
    """python method name -> botocore operation name, from botocore's service model."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def _client_fields(tree: ast.AST) -> dict[str, str]:
    """Names bound to clients: ``sc=session.client("servicecatalog")`` -> {"sc": ...}."""
    fields: dict[str, str] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "client" or not node.args:
            continue
        service = node.args[0]
        if isinstance(service, ast.Constant) and isinstance(service.value, str):
            fields[service.value] = service.value
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and isinstance(node.value, ast.Call):
            call = node.value
            if isinstance(call.func, ast.Attribute) and call.func.attr == "client" and call.args:
                first = call.args[0]
                if isinstance(first, ast.Constant) and node.arg:
                    fields[node.arg] = str(first.value)
    return fields


def _receiver(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def static_operations() -> set[tuple[str, str]]:
    """Every (service, operation) that ``factory/publish/`` and ``factory/aws.py`` reference
    on a client."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in publisher_files()}
    fields: dict[str, str] = {}
    for tree in trees.values():
        fields.update(_client_fields(tree))
    found: set[tuple[str, str]] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                service = fields.get(_receiver(node.value) or "")
                if service and node.attr in _operation_names(service):
                    found.add((service, _operation_names(service)[node.attr]))
            paginated = _paginated_name(node, fields)
            if paginated is not None:
                service, name = paginated
                if name in _operation_names(service):
                    found.add((service, _operation_names(service)[name]))
    return found


def _paginated_name(node: ast.AST, fields: dict[str, str] | None = None) -> tuple[str, str] | None:
    """(service, python name) of ``<client>.get_paginator("name")``, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if node.func.attr != "get_paginator" or not node.args:
        return None
    argument = node.args[0]
    service = (fields or {}).get(_receiver(node.func.value) or "")
    if service and isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return service, argument.value
    return None


def publisher_files() -> list[Path]:
    return [*sorted(PUBLISH_DIR.glob("*.py")), AWS_MODULE]


def test_static_scan_finds_the_clients() -> None:
    fields: dict[str, str] = {}
    for path in publisher_files():
        fields.update(_client_fields(ast.parse(path.read_text(encoding="utf-8"))))
    assert {"sc": "servicecatalog", "s3": "s3", "ssm": "ssm"}.items() <= fields.items()


def test_every_operation_in_the_code_is_in_the_data_file() -> None:
    found = static_operations()
    assert len(found) >= 20, found  # the scan works: the publisher makes ~35 distinct calls
    missing = sorted(found - _keys(committed()))
    assert not missing, (
        f"factory/publish/ calls {missing}, which {DATA_FILE.relative_to(ROOT)} does not list "
        f"(a path the recorded scenario does not exercise?). Extend drive_publisher() in "
        f"tests/audit/test_persona_operations.py, then run: {REGENERATE}"
    )


def test_static_scan_sees_a_new_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation: a publisher module with a call nobody recorded is caught by the scan."""
    for path in PUBLISH_DIR.glob("*.py"):
        shutil.copy(path, tmp_path / path.name)
    extra = (
        "def _new(clients):\n"
        "    clients.sc.describe_copy_product_status(CopyProductToken='x')\n"
        "    return clients.sc.get_paginator('list_accepted_portfolio_shares')\n"
    )
    (tmp_path / "extra.py").write_text(extra, encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.PUBLISH_DIR", tmp_path)
    missing = static_operations() - _keys(committed())
    assert missing == {
        ("servicecatalog", "DescribeCopyProductStatus"),
        ("servicecatalog", "ListAcceptedPortfolioShares"),
    }


# --- the recorder itself --------------------------------------------------------------------


def test_recorder_records_new_sessions_but_not_the_default_session(aws: LocalAWS) -> None:
    import boto3

    env = aws.env
    with OperationRecorder() as recorder:
        session = boto3.Session(
            region_name=REGION,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        s3 = session.client("s3", endpoint_url=aws.moto_endpoint_url)
        s3.create_bucket(Bucket="recorded")
        s3.put_object(Bucket="recorded", Key="k", Body=b"body")
        aws.client("s3").list_buckets()  # the kit's default session: not recorded
    s3.list_buckets()  # after stop: not recorded
    assert recorder.operations() == [
        {"service": "s3", "operation": "CreateBucket"},
        {"service": "s3", "operation": "PutObject"},
    ]
    put = next(c for c in recorder.calls if c.operation == "PutObject")
    assert put.params["Key"] == "k" and str(put.params["Body"]).startswith("<")
    assert put.region == REGION
