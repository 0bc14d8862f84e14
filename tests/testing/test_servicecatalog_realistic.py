"""The stand-in's realistic mode, one knob at a time, through real boto3 clients over HTTP.

Every request and response still passes botocore's model (the stand-in validates both). Time is a
fake clock the test advances, so delays and windows cost no wall-clock time.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from factory.testing.servicecatalog import (
    Realism,
    ServiceCatalogBackend,
    ServiceCatalogServer,
)
from tests.support.clock import FakeClock
from tests.support.standin import code_of

TEMPLATE_URL = "https://studio-templates.s3.amazonaws.com/notebook/v1.yaml"
LAUNCH = json.dumps({"RoleArn": "arn:aws:iam::123456789012:role/SCLaunchRole"})
OU = {"Type": "ORGANIZATIONAL_UNIT", "Value": "ou-abcd-11111111"}


@pytest.fixture
def backend(server: ServiceCatalogServer) -> ServiceCatalogBackend:
    server.backend.reset()
    server.backend.reset_stats()
    server.backend.configure(realism=Realism(), artifacts_per_product=100)
    return server.backend


def make_product(sc: Any, tags: list[dict[str, str]] | None = None) -> tuple[str, str]:
    response = sc.create_product(
        Name="Notebook",
        Owner="Platform",
        ProductType="CLOUD_FORMATION_TEMPLATE",
        Tags=tags or [],
        ProvisioningArtifactParameters={
            "Name": "v1",
            "Info": {"LoadTemplateFromURL": TEMPLATE_URL},
        },
    )
    product_id = response["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
    return product_id, response["ProvisioningArtifactDetail"]["Id"]


def launchable(
    sc: Any, clock: FakeClock, tags: list[dict[str, str]] | None = None
) -> dict[str, str]:
    """A product in a portfolio with a launch constraint; waits out any realistic delay."""
    portfolio_id = sc.create_portfolio(DisplayName="Studio", ProviderName="Platform")[
        "PortfolioDetail"
    ]["Id"]
    product_id, artifact_id = make_product(sc, tags)
    clock.advance(3600)
    pair = {"PortfolioId": portfolio_id, "ProductId": product_id}
    sc.associate_product_with_portfolio(**pair)
    clock.advance(3600)
    sc.create_constraint(**pair, Type="LAUNCH", Parameters=LAUNCH)
    clock.advance(3600)
    return {**pair, "ProvisioningArtifactId": artifact_id}


# --------------------------------------------------------------------------- idempotency tokens


def test_a_token_replays_a_deleted_resource_until_it_expires(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    pair = {k: v for k, v in launchable(sc, clock).items() if k != "ProvisioningArtifactId"}
    constraint_id = sc.list_constraints_for_portfolio(PortfolioId=pair["PortfolioId"])[
        "ConstraintDetails"
    ][0]["ConstraintId"]
    sc.delete_constraint(Id=constraint_id)
    backend.configure(realism={"token_lifetime_s": 60.0})
    request = {**pair, "Type": "LAUNCH", "Parameters": LAUNCH, "IdempotencyToken": "tok-1"}
    first = sc.create_constraint(**request)["ConstraintDetail"]["ConstraintId"]
    sc.delete_constraint(Id=first)

    replay = sc.create_constraint(**request)["ConstraintDetail"]["ConstraintId"]
    assert replay == first  # the deleted constraint, as the service may answer
    with pytest.raises(ClientError) as excinfo:
        sc.describe_constraint(Id=replay)
    assert code_of(excinfo) == "ResourceNotFoundException"

    clock.advance(61)
    fresh = sc.create_constraint(**request)["ConstraintDetail"]["ConstraintId"]
    assert fresh != first
    assert sc.describe_constraint(Id=fresh)["ConstraintDetail"]["ConstraintId"] == fresh


# --------------------------------------------------------------------------- CREATING -> AVAILABLE


def test_new_versions_are_creating_until_the_delay_passes(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    ids = launchable(sc, clock)
    backend.configure(realism={"available_after_s": 5.0})
    created = sc.create_provisioning_artifact(
        ProductId=ids["ProductId"],
        Parameters={"Name": "v2", "Info": {"LoadTemplateFromURL": TEMPLATE_URL}},
    )
    assert created["Status"] == "CREATING"
    v2 = created["ProvisioningArtifactDetail"]["Id"]
    described = sc.describe_provisioning_artifact(
        ProductId=ids["ProductId"], ProvisioningArtifactId=v2
    )
    assert described["Status"] == "CREATING"
    launch = {
        "ProductId": ids["ProductId"],
        "ProvisioningArtifactId": v2,
        "ProvisionedProductName": "pp-one",
    }
    with pytest.raises(ClientError) as excinfo:
        sc.provision_product(**launch)
    assert code_of(excinfo) == "InvalidParametersException"

    clock.advance(5)
    described = sc.describe_provisioning_artifact(
        ProductId=ids["ProductId"], ProvisioningArtifactId=v2
    )
    assert described["Status"] == "AVAILABLE"
    assert sc.provision_product(**launch)["RecordDetail"]["Status"] == "CREATED"


def test_a_version_can_end_failed(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    ids = launchable(sc, clock)
    broken = "https://studio-templates.s3.amazonaws.com/notebook/broken.yaml"
    backend.configure(realism={"available_after_s": 5.0, "failing_template_urls": [broken]})
    v2 = sc.create_provisioning_artifact(
        ProductId=ids["ProductId"],
        Parameters={"Name": "v2", "Info": {"LoadTemplateFromURL": broken}},
    )["ProvisioningArtifactDetail"]["Id"]
    clock.advance(5)
    described = sc.describe_provisioning_artifact(
        ProductId=ids["ProductId"], ProvisioningArtifactId=v2
    )
    assert described["Status"] == "FAILED"
    with pytest.raises(ClientError) as excinfo:
        sc.provision_product(
            ProductId=ids["ProductId"], ProvisioningArtifactId=v2, ProvisionedProductName="pp"
        )
    assert code_of(excinfo) == "InvalidParametersException"


def test_new_products_and_constraints_are_creating_first(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    backend.configure(realism={"available_after_s": 5.0})
    portfolio_id = sc.create_portfolio(DisplayName="Studio", ProviderName="Platform")[
        "PortfolioDetail"
    ]["Id"]
    product_id, _ = make_product(sc)
    detail = sc.describe_product_as_admin(Id=product_id)["ProductViewDetail"]
    assert detail["Status"] == "CREATING"
    pair = {"PortfolioId": portfolio_id, "ProductId": product_id}
    sc.associate_product_with_portfolio(**pair)
    created = sc.create_constraint(**pair, Type="LAUNCH", Parameters=LAUNCH)
    assert created["Status"] == "CREATING"
    clock.advance(5)
    constraint_id = created["ConstraintDetail"]["ConstraintId"]
    assert sc.describe_constraint(Id=constraint_id)["Status"] == "AVAILABLE"
    assert sc.describe_product_as_admin(Id=product_id)["ProductViewDetail"]["Status"] == "AVAILABLE"


# --------------------------------------------------------------------------- eventual consistency


def test_reads_right_after_a_create_answer_not_found(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    backend.configure(realism={"not_found_window_s": 2.0})
    portfolio_id = sc.create_portfolio(DisplayName="Studio", ProviderName="Platform")[
        "PortfolioDetail"
    ]["Id"]
    with pytest.raises(ClientError) as excinfo:
        sc.describe_portfolio(Id=portfolio_id)
    assert code_of(excinfo) == "ResourceNotFoundException"
    product_id, artifact_id = make_product(sc)
    with pytest.raises(ClientError) as excinfo:
        sc.create_provisioning_artifact(
            ProductId=product_id,
            Parameters={"Name": "v2", "Info": {"LoadTemplateFromURL": TEMPLATE_URL}},
        )
    assert code_of(excinfo) == "ResourceNotFoundException"
    clock.advance(2)
    assert sc.describe_portfolio(Id=portfolio_id)["PortfolioDetail"]["Id"] == portfolio_id
    sc.describe_provisioning_artifact(ProductId=product_id, ProvisioningArtifactId=artifact_id)


@pytest.mark.parametrize("lag", [True, False])
def test_lists_can_leave_new_resources_out(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock, lag: bool
) -> None:
    backend.configure(realism={"not_found_window_s": 2.0, "lists_lag": lag})
    portfolio_id = sc.create_portfolio(DisplayName="Studio", ProviderName="Platform")[
        "PortfolioDetail"
    ]["Id"]
    product_id, _ = make_product(sc)
    listed = [p["Id"] for p in sc.list_portfolios()["PortfolioDetails"]]
    searched = sc.search_products_as_admin()["ProductViewDetails"]
    assert listed == ([] if lag else [portfolio_id])
    assert len(searched) == (0 if lag else 1)
    clock.advance(2)
    assert [p["Id"] for p in sc.list_portfolios()["PortfolioDetails"]] == [portfolio_id]
    found = sc.search_products_as_admin()["ProductViewDetails"]
    assert [d["ProductViewSummary"]["ProductId"] for d in found] == [product_id]


def test_a_constraint_right_after_the_association_answers_not_found(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    """aws/aws-cdk#20810: the launch constraint races the product-portfolio association."""
    ids = launchable(sc, clock)
    portfolio_id = sc.create_portfolio(DisplayName="Other", ProviderName="Platform")[
        "PortfolioDetail"
    ]["Id"]
    clock.advance(3600)
    backend.configure(realism={"not_found_window_s": 2.0})
    pair = {"PortfolioId": portfolio_id, "ProductId": ids["ProductId"]}
    sc.associate_product_with_portfolio(**pair)
    sc.associate_product_with_portfolio(**pair)  # repeating the association is fine
    with pytest.raises(ClientError) as excinfo:
        sc.create_constraint(**pair, Type="LAUNCH", Parameters=LAUNCH)
    assert code_of(excinfo) == "ResourceNotFoundException"
    clock.advance(2)
    assert sc.create_constraint(**pair, Type="LAUNCH", Parameters=LAUNCH)["ConstraintDetail"]


# --------------------------------------------------------------------------- throttling


def test_each_operation_has_its_own_rate(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    backend.configure(realism={"rates": {"ListPortfolios": [1.0, 2.0]}})
    sc.list_portfolios()
    sc.list_portfolios()
    with pytest.raises(ClientError) as excinfo:
        sc.list_portfolios()
    assert code_of(excinfo) == "ThrottlingException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for _ in range(5):  # other operations have no bucket here
        sc.search_products_as_admin()
    clock.advance(1)
    sc.list_portfolios()
    stats = backend.stats()
    assert stats["throttled_by_operation"] == {"ListPortfolios": 1}


def test_a_default_rate_covers_every_operation(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    backend.configure(realism={"rates": {"*": [10.0, 3.0]}})
    for _ in range(3):
        sc.search_products_as_admin()
    with pytest.raises(ClientError) as excinfo:
        sc.search_products_as_admin()
    assert code_of(excinfo) == "ThrottlingException"
    sc.list_portfolios()  # its own bucket


# --------------------------------------------------------------------------- organization shares


def _portfolio(sc: Any, clock: FakeClock) -> str:
    portfolio_id = str(
        sc.create_portfolio(DisplayName="Studio", ProviderName="Platform")["PortfolioDetail"]["Id"]
    )
    clock.advance(3600)
    return portfolio_id


@pytest.mark.parametrize(
    ("role", "access"),
    [("standalone", False), ("member", True), ("management", False), ("delegated_admin", False)],
)
def test_organization_shares_need_management_or_delegated_admin_with_access(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock, role: str, access: bool
) -> None:
    backend.configure(realism={"organization_role": role, "organizations_access": access})
    portfolio_id = _portfolio(sc, clock)
    with pytest.raises(ClientError) as excinfo:
        sc.create_portfolio_share(PortfolioId=portfolio_id, OrganizationNode=OU)
    assert code_of(excinfo) == "OperationNotSupportedException"
    sc.create_portfolio_share(PortfolioId=portfolio_id, AccountId="210987654321")


def test_the_management_account_can_enable_organizations_access(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    backend.configure(realism={"organization_role": "management", "organizations_access": False})
    assert sc.get_aws_organizations_access_status()["AccessStatus"] == "DISABLED"
    sc.enable_aws_organizations_access()
    assert sc.get_aws_organizations_access_status()["AccessStatus"] == "ENABLED"
    portfolio_id = _portfolio(sc, clock)
    token = sc.create_portfolio_share(PortfolioId=portfolio_id, OrganizationNode=OU)[
        "PortfolioShareToken"
    ]
    assert sc.describe_portfolio_share_status(PortfolioShareToken=token)["Status"] == "COMPLETED"


def test_outside_the_organization_access_status_is_refused(
    sc: Any, backend: ServiceCatalogBackend
) -> None:
    backend.configure(realism={"organization_role": "standalone", "organizations_access": False})
    for call in (sc.get_aws_organizations_access_status, sc.enable_aws_organizations_access):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert code_of(excinfo) == "OperationNotSupportedException"
    backend.configure(realism={"organization_role": "delegated_admin"})
    with pytest.raises(ClientError) as excinfo:
        sc.enable_aws_organizations_access()
    assert code_of(excinfo) == "OperationNotSupportedException"


def test_a_share_can_complete_with_errors(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    backend.configure(realism={"failing_share_nodes": [OU["Value"]]})
    portfolio_id = _portfolio(sc, clock)
    token = sc.create_portfolio_share(PortfolioId=portfolio_id, OrganizationNode=OU)[
        "PortfolioShareToken"
    ]
    status = sc.describe_portfolio_share_status(PortfolioShareToken=token)
    assert status["Status"] == "COMPLETED_WITH_ERRORS"
    errors = status["ShareDetails"]["ShareErrors"]
    assert errors and errors[0]["Accounts"] and errors[0]["Message"]


# --------------------------------------------------------------------------- tags, deletes, quota


@pytest.mark.parametrize("propagate", [True, False])
def test_product_tags_propagate_to_provisioned_products(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock, propagate: bool
) -> None:
    ids = launchable(sc, clock, tags=[{"Key": "catalog-id", "Value": "studio/domain"}])
    backend.configure(realism={"propagate_product_tags": propagate})
    record = sc.provision_product(
        ProductId=ids["ProductId"],
        ProvisioningArtifactId=ids["ProvisioningArtifactId"],
        ProvisionedProductName="pp-one",
        Tags=[{"Key": "team", "Value": "a"}],
    )["RecordDetail"]
    expected = {"team": "a", **({"catalog-id": "studio/domain"} if propagate else {})}
    assert {t["Key"]: t["Value"] for t in record["RecordTags"]} == expected
    found = sc.search_provisioned_products()["ProvisionedProducts"][0]
    assert {t["Key"]: t["Value"] for t in found["Tags"]} == expected


@pytest.mark.parametrize(("allowed", "error"), [(True, None), (False, "ResourceInUseException")])
def test_delete_product_with_provisioned_products(
    sc: Any,
    backend: ServiceCatalogBackend,
    clock: FakeClock,
    allowed: bool,
    error: str | None,
) -> None:
    """API reference, DeleteProduct: refused only when shared with you or in a portfolio."""
    ids = launchable(sc, clock)
    sc.provision_product(
        ProductId=ids["ProductId"],
        ProvisioningArtifactId=ids["ProvisioningArtifactId"],
        ProvisionedProductName="pp-one",
    )
    backend.configure(realism={"delete_product_in_use": allowed})
    for constraint in sc.list_constraints_for_portfolio(PortfolioId=ids["PortfolioId"])[
        "ConstraintDetails"
    ]:
        sc.delete_constraint(Id=constraint["ConstraintId"])
    sc.disassociate_product_from_portfolio(
        PortfolioId=ids["PortfolioId"], ProductId=ids["ProductId"]
    )
    if error is None:
        sc.delete_product(Id=ids["ProductId"])
        assert sc.search_provisioned_products()["ProvisionedProducts"][0]["Name"] == "pp-one"
    else:
        with pytest.raises(ClientError) as excinfo:
            sc.delete_product(Id=ids["ProductId"])
        assert code_of(excinfo) == error


def test_the_versions_quota_can_be_lowered(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    backend.configure(artifacts_per_product=3)
    product_id, _ = make_product(sc)
    for name in ("v2", "v3"):
        sc.create_provisioning_artifact(
            ProductId=product_id,
            Parameters={"Name": name, "Info": {"LoadTemplateFromURL": TEMPLATE_URL}},
        )
    with pytest.raises(ClientError) as excinfo:
        sc.create_provisioning_artifact(
            ProductId=product_id,
            Parameters={"Name": "v4", "Info": {"LoadTemplateFromURL": TEMPLATE_URL}},
        )
    assert code_of(excinfo) == "LimitExceededException"


# --------------------------------------------------------------------------- switching it on


def test_realistic_turns_every_behaviour_on() -> None:
    realism = ServiceCatalogBackend(realistic=True).realism
    assert realism == Realism.realistic()
    assert realism.token_lifetime_s and realism.available_after_s and realism.not_found_window_s
    assert realism.rates and realism.propagate_product_tags and realism.delete_product_in_use
    assert realism.lists_lag
    assert not realism.can_share_with_organization
    assert ServiceCatalogBackend().realism == Realism()


def test_realism_is_configurable_over_http(server: ServiceCatalogServer, backend: Any) -> None:
    body = json.dumps({"realism": {"available_after_s": 1.5}, "artifacts_per_product": 7})
    request = urllib.request.Request(
        f"{server.endpoint_url}/_standin/config", data=body.encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        config = json.loads(response.read())
    assert config["realism"]["available_after_s"] == 1.5
    assert config["artifacts_per_product"] == 7
    assert backend.realism.available_after_s == 1.5


def test_realism_rejects_unknown_settings() -> None:
    with pytest.raises(ValueError, match="unknown realism settings"):
        Realism.from_dict({"nonsense": 1})
    with pytest.raises(ValueError, match="organization_role"):
        Realism(organization_role="root")
