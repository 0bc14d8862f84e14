"""The launch path, end to end: publish, provision as a cloud admin through Service Catalog,
open Studio as the person, terminate (issue 11).

One scenario, two accounts:

* :class:`SandboxAccount`: a real AWS sandbox account (tests/integration/test_launch_path.py,
  `STUDIO_FACTORY_E2E=1`): the bootstrap stack is deployed (or an existing one is used), the
  personas' roles are assumed, SageMaker is called for real;
* :class:`LocalAccount`: local AWS (moto + the Service Catalog stand-in), in the default
  suite (test_launch_path_local.py): steps 2, 3 and 5 at the Service Catalog level, so this
  code runs on every CI run. What only IAM and SageMaker can show (denials, presigned URLs,
  apps) is skipped there and says so.

Every resource the run creates is registered in :class:`Run` before it is created and
removed in reverse order in a `finally`; what could not be removed is reported.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError
from click.testing import CliRunner

from factory.cli import cli
from factory.users import provision

ROOT = Path(__file__).resolve().parents[2]
ENV = "e2e"
#: The sandbox's own network (never the default VPC): the same SSM parameters the taskcat
#: suite reads (README, Testing in a sandbox account).
VPC_SSM = "/studio-catalog/sandbox/vpc-id"
SUBNETS_SSM = "/studio-catalog/sandbox/subnet-ids"
TEMPLATES = ("studio-domain", "studio-user-profile")


# --- the run: names and cleanup ---------------------------------------------------------------


@dataclass
class Run:
    """One run's unique names, its workspace, and what it must clean up."""

    region: str
    workspace: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    cleanups: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @property
    def people(self) -> tuple[str, str]:
        return f"e2e-a-{self.run_id}", f"e2e-b-{self.run_id}"

    @property
    def domain_name(self) -> str:
        return f"e2e-{self.run_id}"

    @property
    def portfolio(self) -> str:
        return f"e2e-{self.run_id}"

    def product(self, template: str) -> str:
        """This run's product id: products are ours by their id tag (identity by tag), so a
        run never touches the real catalog's `studio-domain`/`studio-user-profile`."""
        return f"{template}-e2e-{self.run_id}"

    def on_cleanup(self, what: str, undo: Callable[[], None]) -> None:
        self.cleanups.append((what, undo))

    def note(self, text: str) -> None:
        self.log.append(text)

    def clean(self) -> list[str]:
        """Undo everything, newest first; returns what could not be removed."""
        while self.cleanups:
            what, undo = self.cleanups.pop()
            try:
                undo()
            except Exception as exc:  # keep cleaning the rest, then report
                self.left_behind.append(f"{what}: {type(exc).__name__}: {exc}")
        return self.left_behind


@dataclass(frozen=True)
class Bootstrap:
    """What the bootstrap stack gives the scenario."""

    bucket: str
    launch_role_name: str
    cloud_admin_role_arn: str = ""
    data_scientist_role_arn: str = ""
    publisher_role_arn: str = ""


class Account(Protocol):
    """Where the scenario runs."""

    region: str
    real: bool

    def bootstrap(self, run: Run) -> Bootstrap: ...

    def environment(self, role_arn: str, run: Run) -> dict[str, str | None]: ...

    def network(self) -> tuple[str, str]: ...


# --- the scenario -----------------------------------------------------------------------------


def invoke(env: dict[str, str | None], *args: str) -> Any:
    """The real CLI, in process, with `env`'s credentials (CliRunner restores the rest)."""
    result = CliRunner().invoke(cli, list(args), env=env)
    return result


def prepare_workspace(run: Run, bootstrap: Bootstrap, account_id: str) -> None:
    """templates/, personas and a portfolio of this run only (unique names), with the
    bootstrap's CloudAdminRole as principal and its launch role as the launch constraint."""
    shutil.copytree(ROOT / "templates", run.workspace / "templates")
    portfolios = run.workspace / "portfolios"
    (portfolios / "environments").mkdir(parents=True)
    shutil.copy(ROOT / "portfolios/personas.yaml", portfolios / "personas.yaml")
    (portfolios / "environments" / f"{ENV}.yaml").write_text(
        f'name: {ENV}\naccounts:\n  catalog: "{account_id}"\n', encoding="utf-8"
    )
    write_portfolio(run, bootstrap, with_portfolio=True)


def write_portfolio(run: Run, bootstrap: Bootstrap, *, with_portfolio: bool) -> None:
    """This run's catalog: its two products in one portfolio, or (for the clean-up) none."""
    if not with_portfolio:
        text = "version: 1\nproducts: []\nportfolios: []\n"
        (run.workspace / "portfolios" / "e2e.yaml").write_text(text, encoding="utf-8")
        return
    products = "".join(
        f"  - id: {run.product(t)}\n    template: {t}\n    display_name: {run.product(t)}\n"
        f"    owner: studio-factory e2e\n    description: end-to-end test {run.run_id}\n"
        for t in TEMPLATES
    )
    members = "".join(
        f"      - product: {run.product(t)}\n"
        f"        launch_role:\n          local_role_name: {bootstrap.launch_role_name}\n"
        for t in TEMPLATES
    )
    text = (
        f"version: 1\nproducts:\n{products}portfolios:\n"
        f"  - id: {run.portfolio}\n"
        f"    display_name: studio-factory {run.portfolio}\n"
        "    provider_name: studio-factory e2e\n"
        "    principals:\n"
        "      - type: IAM_PATTERN\n"
        '        arn: "arn:aws:iam:::role/studio-catalog/personas/*-CloudAdminRole-*"\n'
        f"    products:\n{members}"
    )
    (run.workspace / "portfolios" / "e2e.yaml").write_text(text, encoding="utf-8")


def paths(run: Run) -> tuple[str, ...]:
    return (
        *("--portfolios", str(run.workspace / "portfolios")),
        *("--templates", str(run.workspace / "templates")),
    )


def publish(account: Account, run: Run, bootstrap: Bootstrap) -> None:
    """Step 2: `studio-factory publish` as the publisher, to this run's portfolio."""
    env = account.environment(bootstrap.publisher_role_arn, run)
    args = ("publish", "--env", ENV, "--region", account.region, "--bucket", bootstrap.bucket)
    extra = () if account.real else ("--skip-environment-check",)
    run.on_cleanup("the run's portfolio and products", lambda: unpublish(account, run, bootstrap))
    result = invoke(env, *args, "--yes", *extra, *paths(run))
    assert result.exit_code == 0, result.output
    run.note(f"published portfolio e2e-{run.run_id}")


def unpublish(account: Account, run: Run, bootstrap: Bootstrap) -> None:
    """The publisher's own prune, limited to this run's portfolio and products: a sandbox
    may hold other catalogs, which a plain `publish --prune` of an empty file would delete."""
    from factory.aws import Clients
    from factory.publish.apply import apply_plan
    from factory.publish.plan import plan_region
    from factory.publish.run import load
    from factory.publish.steps import DeletePortfolio, DeleteProduct

    write_portfolio(run, bootstrap, with_portfolio=False)
    ours = {run.portfolio, *(run.product(t) for t in TEMPLATES)}
    with credentials(account.environment(bootstrap.publisher_role_arn, run)):
        catalog, digests = load(run.workspace / "portfolios", ENV, run.workspace / "templates")
        clients = Clients.create(account.region)
        state, steps = plan_region(clients, catalog, digests, prune=True)
        mine = [
            step
            for step in steps
            if (isinstance(step, DeletePortfolio) and step.portfolio in ours)
            or (isinstance(step, DeleteProduct) and step.product in ours)
        ]
        outcome = apply_plan(clients, catalog, state, mine, bucket=bootstrap.bucket)
    if outcome.failures:
        raise RuntimeError("; ".join(str(f) for f in outcome.failures))


@contextmanager
def credentials(env: dict[str, str | None]) -> Iterator[None]:
    """Run a block with `env`'s AWS variables in os.environ (boto3 reads them)."""
    saved = {key: os.environ.get(key) for key in env}
    try:
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sagemaker_is_denied(account: Account, run: Run, bootstrap: Bootstrap) -> None:
    """Step 3a: the cloud admin holds no SageMaker permission: each call is AccessDenied."""
    sm = client(
        account.environment(bootstrap.cloud_admin_role_arn, run), "sagemaker", account.region
    )
    attempts: dict[str, Callable[[], Any]] = {
        "ListDomains": sm.list_domains,
        "CreateUserProfile": lambda: sm.create_user_profile(
            DomainId="d-abcdefghijkl", UserProfileName="mallory"
        ),
        "CreatePresignedDomainUrl": lambda: sm.create_presigned_domain_url(
            DomainId="d-abcdefghijkl", UserProfileName="mallory"
        ),
    }
    for name, call in attempts.items():
        try:
            call()
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            assert code in ("AccessDeniedException", "AccessDenied"), f"{name}: {code}"
            continue
        raise AssertionError(f"the cloud admin could call sagemaker:{name}")
    run.note("cloud admin: every SageMaker call denied")


def provision_domain(account: Account, run: Run, bootstrap: Bootstrap) -> str:
    """Step 3b: a domain through Service Catalog, as the cloud admin."""
    env = account.environment(bootstrap.cloud_admin_role_arn, run)
    sc = client(env, "servicecatalog", account.region)
    target = visible_target(sc, run.product("studio-domain"))
    vpc, subnets = account.network()
    name = f"studio-domain-{run.run_id}"
    record = sc.provision_product(
        ProductId=target.product_id,
        ProvisioningArtifactId=target.artifact_id,
        PathId=target.path_id,
        ProvisionedProductName=name,
        ProvisioningParameters=[
            {"Key": "DomainName", "Value": run.domain_name},
            {"Key": "VpcId", "Value": vpc},
            {"Key": "SubnetIds", "Value": subnets},
        ],
        ProvisionToken=run.run_id,
    )["RecordDetail"]["RecordId"]
    run.on_cleanup(f"provisioned product {name}", lambda: terminate(sc, name))
    detail = provision.wait_for(sc, record)
    assert detail["Status"] == "SUCCEEDED", provision.record_errors(detail)
    run.note(f"domain {run.domain_name} provisioned")
    return name


def visible_target(sc: Any, product: str, timeout_s: float = 120.0) -> provision.Target:
    """The product as the cloud admin sees it: a new portfolio principal is eventually
    consistent (FIELD-NOTES), so a product may stay invisible for a while after publishing."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return provision.find_target(sc, product)
        except provision.UsersError:
            if time.monotonic() > deadline:
                raise
            time.sleep(5)


def add_people(account: Account, run: Run, bootstrap: Bootstrap) -> None:
    """Step 3c: two people, `studio-factory users add`, as the cloud admin."""
    env = account.environment(bootstrap.cloud_admin_role_arn, run)
    sc = client(env, "servicecatalog", account.region)
    for person, persona in zip(
        run.people, ("senior-data-scientist", "junior-analyst"), strict=True
    ):
        name = provision.provisioned_name(person)
        run.on_cleanup(f"provisioned product {name}", lambda n=name: terminate(sc, n))
        result = invoke(
            env,
            *("users", "add", person, "--persona", persona, "--env", ENV),
            *("--region", account.region, "--domain", run.domain_name, *paths(run)),
            *("--product", run.product("studio-user-profile")),
        )
        assert result.exit_code == 0, result.output
        assert f"{person}: created" in result.output, result.output
    run.note(f"people {', '.join(run.people)} provisioned")


def remove_person(account: Account, run: Run, bootstrap: Bootstrap, person: str) -> None:
    """Step 5: `users remove` as the cloud admin; the drain function empties the profile."""
    env = account.environment(bootstrap.cloud_admin_role_arn, run)
    result = invoke(
        env,
        *("users", "remove", person, "--yes", "--env", ENV, "--region", account.region),
        *paths(run),
        *("--product", run.product("studio-user-profile")),
    )
    assert result.exit_code == 0, result.output
    assert f"{person}: removed" in result.output, result.output
    sc = client(env, "servicecatalog", account.region)
    assert provision.existing(sc, provision.provisioned_name(person)) is None
    run.note(f"{person} removed")


def terminate(sc: Any, name: str) -> None:
    found = provision.existing(sc, name)
    if found is None:
        return
    record = provision.terminate(sc, str(found["Id"]), str(found.get("LastRecordId", "")))
    detail = provision.wait_for(sc, record)
    if detail["Status"] != "SUCCEEDED":
        raise RuntimeError(provision.record_errors(detail))


def client(env: dict[str, str | None], service: str, region: str) -> Any:
    """A client with `env`'s credentials (and, locally, its endpoints)."""
    with credentials(env):
        return boto3.Session(region_name=region).client(service)


def scenario(account: Account, run: Run) -> None:
    """The steps, in order; the caller cleans up in a `finally`."""
    bootstrap = account.bootstrap(run)
    account_id = boto3.client("sts", region_name=account.region).get_caller_identity()["Account"]
    prepare_workspace(run, bootstrap, account_id)
    publish(account, run, bootstrap)
    if account.real:
        sagemaker_is_denied(account, run, bootstrap)
    provision_domain(account, run, bootstrap)
    add_people(account, run, bootstrap)
    if account.real:
        assert isinstance(account, SandboxAccount)
        account.open_studio_as(run, bootstrap)
        account.start_app(run)
    remove_person(account, run, bootstrap, run.people[0])


@contextmanager
def cleaned(run: Run) -> Iterator[Run]:
    """Run the body, then clean up whatever happened; fail when something is left behind."""
    try:
        yield run
    finally:
        left = run.clean()
        if left:
            raise AssertionError("left behind (remove by hand):\n  " + "\n  ".join(left))


# --- local AWS --------------------------------------------------------------------------------


@dataclass
class LocalAccount:
    """Local AWS: one identity plays every role (nothing evaluates IAM locally)."""

    aws: Any  # factory.testing.local_aws.LocalAWS
    region: str
    real: bool = False

    def bootstrap(self, run: Run) -> Bootstrap:
        from factory import naming
        from factory.testing.rehearse import play_bootstrap

        values = play_bootstrap(self.aws, bucket=f"e2e-{run.run_id}")
        return Bootstrap(
            bucket=values[naming.TEMPLATE_BUCKET_SSM_PARAMETER],
            launch_role_name=naming.DEFAULT_LAUNCH_ROLE_NAME,
        )

    def environment(self, role_arn: str, run: Run) -> dict[str, str | None]:
        return dict(self.aws.env)

    def network(self) -> tuple[str, str]:
        ec2 = self.aws.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
        return vpc, subnet


# --- a real sandbox account -------------------------------------------------------------------

BOOTSTRAP_STACK_ENV = "STUDIO_FACTORY_E2E_BOOTSTRAP_STACK"
APP_TIMEOUT_S = 900.0


@dataclass
class SandboxAccount:
    """A real account. The caller's credentials deploy the bootstrap (or name an existing
    stack in STUDIO_FACTORY_E2E_BOOTSTRAP_STACK) and create two short-lived roles tagged
    `studiouserid`, standing in for the identity provider's people."""

    region: str
    real: bool = True
    outputs: dict[str, str] = field(default_factory=dict)
    _sessions: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def bootstrap(self, run: Run) -> Bootstrap:
        cfn = boto3.client("cloudformation", region_name=self.region)
        stack = os.environ.get(BOOTSTRAP_STACK_ENV) or self._deploy_bootstrap(run, cfn)
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        return Bootstrap(
            bucket=self.outputs["TemplateBucketName"],
            launch_role_name=self.outputs["LaunchRoleName"],
            cloud_admin_role_arn=self.outputs["CloudAdminRoleArn"],
            data_scientist_role_arn=self.outputs["DataScientistRoleArn"],
            publisher_role_arn=self.outputs["PublisherRoleArn"],
        )

    def _deploy_bootstrap(self, run: Run, cfn: Any) -> str:
        """Upload the template to a bucket of the run (it exceeds the 51,200-byte body
        limit), create the stack, wait; both are removed at cleanup."""
        s3 = boto3.client("s3", region_name=self.region)
        bucket = f"studio-e2e-{run.run_id}-{uuid.uuid4().hex[:8]}"
        location = {} if self.region == "us-east-1" else {"LocationConstraint": self.region}
        s3.create_bucket(
            Bucket=bucket, **({"CreateBucketConfiguration": location} if location else {})
        )
        run.on_cleanup(f"bucket {bucket}", lambda: _delete_bucket(s3, bucket))
        key = "studio-catalog-bootstrap.yaml"
        s3.upload_file(str(ROOT / "launch" / key), bucket, key)
        stack = f"studio-e2e-bootstrap-{run.run_id}"
        # The template bucket has DeletionPolicy Retain (so a deleted stack keeps the
        # published templates); this run empties and deletes it after the stack is gone.
        run.on_cleanup(
            "the bootstrap's template bucket",
            lambda: (
                _delete_bucket(s3, self.outputs["TemplateBucketName"]) if self.outputs else None
            ),
        )
        run.on_cleanup(f"stack {stack}", lambda: _delete_stack(cfn, stack))
        cfn.create_stack(
            StackName=stack,
            TemplateURL=f"https://{bucket}.s3.{self.region}.amazonaws.com/{key}",
            Parameters=[
                {"ParameterKey": "LaunchRoleName", "ParameterValue": f"e2e-launch-{run.run_id}"}
            ],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )
        cfn.get_waiter("stack_create_complete").wait(StackName=stack)
        return stack

    def environment(self, role_arn: str, run: Run) -> dict[str, str | None]:
        """AWS_* variables of a session of `role_arn` (cached for the run)."""
        if role_arn not in self._sessions:
            sts = boto3.client("sts", region_name=self.region)
            credentials = _assume(sts, role_arn, f"e2e-{run.run_id}")
            self._sessions[role_arn] = _as_env(credentials, self.region)
        return self._sessions[role_arn]

    def network(self) -> tuple[str, str]:
        ssm = boto3.client("ssm", region_name=self.region)
        vpc = ssm.get_parameter(Name=VPC_SSM)["Parameter"]["Value"]
        subnets = ssm.get_parameter(Name=SUBNETS_SSM)["Parameter"]["Value"]
        return vpc, subnets

    def open_studio_as(self, run: Run, bootstrap: Bootstrap) -> None:
        """Step 4: as person A (a session tagged studiouserid=A), a presigned URL for A's
        profile is granted and one for B's is denied."""
        domain_id = self._domain_id(run)
        a, b = run.people
        sm = self._data_scientist(run, bootstrap, a).client("sagemaker")
        url = sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName=a)
        assert url["AuthorizedUrl"].startswith("https://")
        try:
            sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName=b)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied")
        else:
            raise AssertionError(f"{a} could open {b}'s profile")
        run.note(f"{a} opens their own profile, not {b}'s")

    def start_app(self, run: Run) -> None:
        """Step 5a: a JupyterLab app in A's private space (the caller's credentials: starting
        an app is Studio's job, not a persona's), so the termination must drain it."""
        sm = boto3.client("sagemaker", region_name=self.region)
        domain_id, person = self._domain_id(run), run.people[0]
        sm.create_app(
            DomainId=domain_id,
            SpaceName=person,
            AppType="JupyterLab",
            AppName="default",
            ResourceSpec={"InstanceType": "ml.t3.medium"},
        )
        deadline = time.monotonic() + APP_TIMEOUT_S
        while time.monotonic() < deadline:
            app = sm.describe_app(
                DomainId=domain_id, SpaceName=person, AppType="JupyterLab", AppName="default"
            )
            if app["Status"] in ("InService", "Failed"):
                assert app["Status"] == "InService", app.get("FailureReason")
                run.note(f"app started in {person}'s space")
                return
            time.sleep(15)
        raise AssertionError("the app did not start within 15 minutes")

    def _domain_id(self, run: Run) -> str:
        ssm = boto3.client("ssm", region_name=self.region)
        name = f"/studio-catalog/domains/{run.domain_name}/domain-id"
        return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])

    def _data_scientist(self, run: Run, bootstrap: Bootstrap, person: str) -> Any:
        """A role tagged studiouserid=person (what the identity provider would give), then
        the DataScientistRole with that same session tag (its trust allows only that)."""
        iam = boto3.client("iam")
        sts = boto3.client("sts", region_name=self.region)
        account = sts.get_caller_identity()["Account"]
        name = f"studio-e2e-{person}"[:64]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Tags=[{"Key": "studiouserid", "Value": person}],
        )["Role"]["Arn"]
        run.on_cleanup(f"role {name}", lambda: _delete_role(iam, name))
        iam.put_role_policy(
            RoleName=name,
            PolicyName="assume-data-scientist",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["sts:AssumeRole", "sts:TagSession"],
                            "Resource": bootstrap.data_scientist_role_arn,
                        }
                    ],
                }
            ),
        )
        person_sts = _session(_assume(sts, role, f"e2e-{person}"), self.region).client("sts")
        scientist = _assume(
            person_sts,
            bootstrap.data_scientist_role_arn,
            f"e2e-{person}",
            tags=[{"Key": "studiouserid", "Value": person}],
        )
        return _session(scientist, self.region)


def _assume(sts: Any, role_arn: str, name: str, **extra: Any) -> dict[str, str]:
    """AssumeRole, retried for a minute: a new role or trust is eventually consistent (IAM
    User Guide, "Changes that I make are not always immediately visible")."""
    deadline = time.monotonic() + 60
    while True:
        try:
            response = sts.assume_role(RoleArn=role_arn, RoleSessionName=name[:64], **extra)
            return dict(response["Credentials"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "AccessDenied" or time.monotonic() > deadline:
                raise
            time.sleep(5)


def _as_env(credentials: dict[str, str], region: str) -> dict[str, str | None]:
    """The session's variables; AWS_PROFILE unset so that they win."""
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
        "AWS_REGION": region,
        "AWS_PROFILE": None,
    }


def _session(credentials: dict[str, str], region: str) -> Any:
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def _delete_stack(cfn: Any, stack: str) -> None:
    cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack)


def _delete_bucket(s3: Any, bucket: str) -> None:
    resource = boto3.resource("s3", region_name=s3.meta.region_name).Bucket(bucket)
    resource.object_versions.delete()
    resource.delete()


def _delete_role(iam: Any, name: str) -> None:
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)
