"""Helpers of the rollout tests: an AWS Organization in moto, a workspace whose environment
shares the portfolio with two OUs and one account, and runs of factory.rollout."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.rollout.run import Options, Result, run
from factory.testing.local_aws import LocalAWS

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "rollout-templates"
REGIONS = ("us-east-1", "eu-west-1")
ADMIN_REGION = "us-east-1"
#: moto's account: it creates the organization, so it is the management account.
MANAGEMENT = "123456789012"

BOOTSTRAP = """AWSTemplateFormatVersion: '2010-09-09'
Description: a stand-in for the bootstrap stack (same launch-role parameter)
Parameters:
  LaunchRoleName:
    Type: String
    Default: StudioCatalogLaunchRole
  CloudAdminPrincipalArnPattern:
    Type: String
    Default: ''
Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
"""

CATALOG = """version: 1
products:
  - id: alpha
    template: alpha
    display_name: Product alpha
    owner: ML Platform team
portfolios:
  - id: studio
    display_name: Studio
    provider_name: ML Platform team
    products:
      - product: alpha
    sharing:
      accounts: ["{{ env.accounts.workload }}"]
      organization_nodes:
        - type: ORGANIZATIONAL_UNIT
          value: "{{ env.ou_a }}"
        - type: ORGANIZATIONAL_UNIT
          value: "{{ env.ou_b }}"
"""


@dataclass
class Org:
    root: str
    ous: dict[str, str]
    accounts: dict[str, list[str]] = field(default_factory=dict)

    @property
    def workload(self) -> str:
        return self.accounts["other"][0]


def make_org(aws: LocalAWS) -> Org:
    """Organization with OUs a, b (two accounts each) and other (the workload account)."""
    org = aws.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    made = Org(root=root, ous={})
    for name in ("a", "b", "other"):
        ou = org.create_organizational_unit(ParentId=root, Name=name)["OrganizationalUnit"]["Id"]
        made.ous[name] = ou
        count = 1 if name == "other" else 2
        made.accounts[name] = [add_account(aws, ou, f"{name}{i}") for i in range(count)]
    return made


def add_account(aws: LocalAWS, ou: str, name: str) -> str:
    org = aws.client("organizations")
    status = org.create_account(AccountName=name, Email=f"{name}@example.com")
    account = status["CreateAccountStatus"]["AccountId"]
    root = org.list_roots()["Roots"][0]["Id"]
    org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
    return account


def environment(org: Org, bootstrap: str = "", regions: tuple[str, ...] = REGIONS) -> str:
    return f"""name: dev
regions: [{", ".join(regions)}]
accounts:
  catalog: "{MANAGEMENT}"
  workload: "{org.workload}"
values:
  ou_a: {org.ous["a"]}
  ou_b: {org.ous["b"]}
{bootstrap}"""


def workspace(root: Path, aws: LocalAWS, org: Org, bootstrap: str = "") -> Path:
    (root / "portfolios/environments").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "launch").mkdir()
    shutil.copy(ROOT / "templates/studio-user-profile.yaml", root / "templates/alpha.yaml")
    (root / "portfolios/catalog.yaml").write_text(CATALOG, encoding="utf-8")
    write_environment(root, org, bootstrap)
    (root / "launch/studio-catalog-bootstrap.yaml").write_text(BOOTSTRAP, encoding="utf-8")
    aws.client("s3").create_bucket(Bucket=BUCKET)
    return root


def write_environment(root: Path, org: Org, bootstrap: str = "", **kwargs: Any) -> None:
    path = root / "portfolios/environments/dev.yaml"
    path.write_text(environment(org, bootstrap, **kwargs), encoding="utf-8")


def rollout(root: Path, *, apply: bool, **options: Any) -> Result:
    from factory.portfolio import load_catalog

    catalog = load_catalog(root / "portfolios", "dev", root / "templates")
    options.setdefault("sleep", lambda _: None)  # None: real sleeps (operations that run)
    chosen = Options(
        admin_region=ADMIN_REGION,
        regions=list(catalog.environment.regions),
        template=root / "launch/studio-catalog-bootstrap.yaml",
        bucket=BUCKET,
        **options,
    )
    return run(catalog, chosen, apply=apply)


def instances(aws: LocalAWS, name: str = "studio-catalog-bootstrap") -> dict[tuple[str, str], Any]:
    cfn = aws.client("cloudformation", region=ADMIN_REGION)
    summaries = cfn.list_stack_instances(StackSetName=name, CallAs="SELF")["Summaries"]
    return {(s["Account"], s["Region"]): s for s in summaries}
