"""The stand-in's provisioning: parameter values, asynchronous records, failing launches, latency.

Real boto3 clients over loopback HTTP; every request and response passes botocore's model (the
stand-in validates both). Time is a fake clock the test advances, so provisioning delays cost no
wall-clock time; only the latency and throttling tests sleep. Templates are put on the version
directly, as moto's S3 would have served them; one test goes through LocalAWS and moto's S3.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from factory.testing.local_aws import LocalAWS
from factory.testing.servicecatalog import (
    Realism,
    ServiceCatalogBackend,
    ServiceCatalogServer,
    parse_template,
)
from factory.testing.servicecatalog.parameters import effective_values, first_violation
from tests.support.clock import FakeClock
from tests.support.standin import NO_RETRIES, code_of

ROOT = Path(__file__).resolve().parents[2]
PROFILE_TEMPLATE = (ROOT / "templates" / "studio-user-profile.yaml").read_text()
TEMPLATE_URL = "https://studio-templates.s3.amazonaws.com/user-profile/v1.yaml"
LAUNCH = json.dumps({"RoleArn": "arn:aws:iam::123456789012:role/SCLaunchRole"})
#: Constraints the real template does not use, without ConstraintDescription (exact messages).
SMALL_TEMPLATE = """\
Parameters:
  Team:
    Type: String
    MinLength: 2
    MaxLength: 8
    AllowedPattern: "[a-z]+"
  Ports:
    Type: List<Number>
    Default: "80,443"
    MinValue: 1
    MaxValue: 65535
  Zones:
    Type: CommaDelimitedList
    Default: a
    AllowedValues: [a, b, c]
  Size:
    Type: Number
    Default: 5
    AllowedValues: [5, 10]
  Kms:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /studio/kms-key-arn
Resources:
  Bucket:
    Type: AWS::S3::Bucket
"""


@pytest.fixture
def backend(server: ServiceCatalogServer) -> ServiceCatalogBackend:
    server.backend.reset()
    server.backend.reset_stats()
    server.backend.configure(latency_s=0.0, throttle_rate=0.0, realism=Realism())
    return server.backend


def launchable(
    sc: Any, backend: ServiceCatalogBackend, template: str = PROFILE_TEMPLATE
) -> dict[str, str]:
    """A product in a portfolio with a launch constraint; its version reads ``template``."""
    portfolio_id = sc.create_portfolio(DisplayName="Studio", ProviderName="Platform")[
        "PortfolioDetail"
    ]["Id"]
    created = sc.create_product(
        Name="User profile",
        Owner="Platform",
        ProductType="CLOUD_FORMATION_TEMPLATE",
        ProvisioningArtifactParameters={
            "Name": "v1",
            "Info": {"LoadTemplateFromURL": TEMPLATE_URL},
        },
    )
    product_id = created["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
    artifact_id = created["ProvisioningArtifactDetail"]["Id"]
    use_template(backend, product_id, artifact_id, template)
    sc.associate_product_with_portfolio(PortfolioId=portfolio_id, ProductId=product_id)
    sc.create_constraint(
        PortfolioId=portfolio_id, ProductId=product_id, Type="LAUNCH", Parameters=LAUNCH
    )
    return {"ProductId": product_id, "ProvisioningArtifactId": artifact_id}


def use_template(
    backend: ServiceCatalogBackend, product_id: str, artifact_id: str, template: str
) -> None:
    artifact = backend.region_state().products[product_id].artifacts[artifact_id]
    artifact.template = parse_template(template)  # what moto's S3 would have served


def add_version(sc: Any, backend: ServiceCatalogBackend, product_id: str, template: str) -> str:
    artifact_id = str(
        sc.create_provisioning_artifact(
            ProductId=product_id,
            Parameters={"Name": "v2", "Info": {"LoadTemplateFromURL": TEMPLATE_URL}},
        )["ProvisioningArtifactDetail"]["Id"]
    )
    use_template(backend, product_id, artifact_id, template)
    return artifact_id


def params(**values: str) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in values.items()]


def provision(sc: Any, ids: dict[str, str], name: str, **values: str) -> dict[str, Any]:
    return dict(
        sc.provision_product(
            **ids, ProvisionedProductName=name, ProvisioningParameters=params(**values)
        )["RecordDetail"]
    )


def record(sc: Any, record_id: str) -> dict[str, Any]:
    return dict(sc.describe_record(Id=record_id)["RecordDetail"])


def detail(sc: Any, name: str) -> dict[str, Any]:
    return dict(sc.describe_provisioned_product(Name=name)["ProvisionedProductDetail"])


def searched(sc: Any, name: str) -> list[dict[str, Any]]:
    found = sc.search_provisioned_products(Filters={"SearchQuery": [f"name:{name}"]})
    return list(found["ProvisionedProducts"])


def stored(backend: ServiceCatalogBackend, name: str) -> dict[str, str]:
    pp = next(pp for pp in backend.region_state().provisioned.values() if pp.name == name)
    return dict(pp.parameters)


# --------------------------------------------------------------------------- parameter values


@pytest.mark.parametrize(
    ("values", "parameter", "reason"),
    [
        ({"UserProfileName": "bob_smith"}, "UserProfileName", "One person, one profile"),
        (
            {"UserProfileName": "bob", "HiddenAppTypes": "Canvas,KernelGateway"},
            "HiddenAppTypes",
            "Comma-separated app types from the allowed list",
        ),
        (
            {"UserProfileName": "bob", "HiddenInstanceTypes": "ml.t3.medium,p4d"},
            "HiddenInstanceTypes",
            "Comma-separated SageMaker instance types",
        ),
        (
            {"UserProfileName": "bob", "DefaultLandingUri": "studio"},
            "DefaultLandingUri",
            "must be one of AllowedValues",
        ),
        (
            {"UserProfileName": "bob", "PrivateSpaceEbsSizeGb": "big"},
            "PrivateSpaceEbsSizeGb",
            "must be a number",
        ),
        (
            {"UserProfileName": "bob", "PrivateSpaceEbsSizeGb": "2"},
            "PrivateSpaceEbsSizeGb",
            "must be a number not less than 5",
        ),
        ({"UserProfileName": "bob", "Persona": "x" * 65}, "Persona", "A persona name"),
        (
            {"UserProfileName": "bob", "DomainId": ""},
            "DomainId",
            "Parameters: [DomainId] must have values",
        ),
    ],
)
def test_a_bad_value_is_accepted_then_fails_the_launch(
    sc: Any,
    backend: ServiceCatalogBackend,
    values: dict[str, str],
    parameter: str,
    reason: str,
) -> None:
    """Service Catalog User Guide: a launch whose "parameters failed to pass all constraints"
    ends Failed and stays listed; botocore's model: ERROR, "CloudFormation received a
    parameter value that was not valid"."""
    ids = launchable(sc, backend)
    launched = provision(sc, ids, "studio-user-bob", **values)
    assert launched["Status"] == "CREATED"
    result = record(sc, launched["RecordId"])
    assert result["Status"] == "FAILED"
    [error] = result["RecordErrors"]
    assert error["Code"] == "ValidationError"
    assert f"'{parameter}'" in error["Description"] or f"[{parameter}]" in error["Description"]
    assert reason in error["Description"]
    [found] = searched(sc, "studio-user-bob")
    assert (found["Status"], found["StatusMessage"]) == ("ERROR", error["Description"])
    assert "LastSuccessfulProvisioningRecordId" not in found
    with pytest.raises(ClientError) as excinfo:
        provision(sc, ids, "studio-user-bob", UserProfileName="bob")
    assert code_of(excinfo) == "DuplicateResourceException"  # the failed launch keeps the name


def test_the_real_template_accepts_good_values(sc: Any, backend: ServiceCatalogBackend) -> None:
    ids = launchable(sc, backend)
    launched = provision(
        sc,
        ids,
        "studio-user-alice",
        UserProfileName="alice",
        HiddenAppTypes="JupyterLab,Canvas",
        HiddenInstanceTypes="ml.p4d.24xlarge,system",
        PrivateSpaceEbsSizeGb="20",
        DomainId="/studio-catalog/domains/other/domain-id",
    )
    assert record(sc, launched["RecordId"])["Status"] == "SUCCEEDED"
    assert detail(sc, "studio-user-alice")["Status"] == "AVAILABLE"
    values = stored(backend, "studio-user-alice")
    assert values["HiddenAppTypes"] == "JupyterLab,Canvas"
    assert values["DefaultLandingUri"] == "studio::"  # the launch ran with the defaults


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"Team": "a"}, "Parameter 'Team' must contain at least 2 characters"),
        ({"Team": "abcdefghi"}, "Parameter 'Team' must contain at most 8 characters"),
        ({"Team": "ab1"}, "Parameter 'Team' must match pattern [a-z]+"),
        ({"Team": "ab", "Ports": "80,http"}, "Parameter 'Ports' must be a number"),
        ({"Team": "ab", "Ports": "80,70000"}, "Parameter 'Ports' must be a number not greater"),
        ({"Team": "ab", "Zones": "a,d"}, "Parameter 'Zones' must be one of AllowedValues"),
        ({"Team": "ab", "Zones": "a, b"}, "Parameter 'Zones' must be one of AllowedValues"),
        ({"Team": "ab", "Size": "5.0"}, "Parameter 'Size' must be one of AllowedValues"),
    ],
)
def test_cloudformation_messages(
    sc: Any, backend: ServiceCatalogBackend, values: dict[str, str], message: str
) -> None:
    ids = launchable(sc, backend, SMALL_TEMPLATE)
    launched = provision(sc, ids, "pp", **values)
    [error] = record(sc, launched["RecordId"])["RecordErrors"]
    assert error["Description"].startswith(message)


def test_defaults_are_checked_like_given_values() -> None:
    template = parse_template(SMALL_TEMPLATE.replace("Default: a\n", "Default: z\n"))
    assert template is not None
    values = effective_values(template, {"Team": "ab"})
    assert values == {
        "Team": "ab",
        "Ports": "80,443",
        "Zones": "z",
        "Size": "5",
        "Kms": "/studio/kms-key-arn",
    }
    assert first_violation(template, values) == "Parameter 'Zones' must be one of AllowedValues"
    assert first_violation(template, {**values, "Zones": "b,c"}) is None


def test_unknown_and_missing_parameters_are_still_refused_at_once(
    sc: Any, backend: ServiceCatalogBackend
) -> None:
    ids = launchable(sc, backend)
    for values in ({"UserProfileName": "bob", "Nickname": "b"}, {"Persona": "analyst"}):
        with pytest.raises(ClientError) as excinfo:
            provision(sc, ids, "studio-user-bob", **values)
        assert code_of(excinfo) == "InvalidParametersException"
    assert searched(sc, "studio-user-bob") == []


# --------------------------------------------------------------------------- updates


def test_update_keeps_previous_values_only_when_asked(
    sc: Any, backend: ServiceCatalogBackend
) -> None:
    ids = launchable(sc, backend)
    provision(sc, ids, "studio-user-alice", UserProfileName="alice", HiddenAppTypes="Canvas")
    keep = [
        {"Key": "UserProfileName", "UsePreviousValue": True},
        {"Key": "HiddenAppTypes", "UsePreviousValue": True, "Value": "ignored"},
    ]
    updated = sc.update_provisioned_product(
        ProvisionedProductName="studio-user-alice", ProvisioningParameters=keep
    )["RecordDetail"]
    assert updated["Status"] == "CREATED"
    assert record(sc, updated["RecordId"])["Status"] == "SUCCEEDED"
    assert stored(backend, "studio-user-alice")["HiddenAppTypes"] == "Canvas"

    # Left out: the version's default, as in a CloudFormation stack update.
    sc.update_provisioned_product(
        ProvisionedProductName="studio-user-alice", ProvisioningParameters=keep[:1]
    )
    values = stored(backend, "studio-user-alice")
    assert (values["UserProfileName"], values["HiddenAppTypes"]) == ("alice", "JupyterServer")
    with pytest.raises(ClientError) as excinfo:  # UserProfileName has no default
        sc.update_provisioned_product(
            ProvisionedProductName="studio-user-alice",
            ProvisioningParameters=[{"Key": "Persona", "Value": "analyst"}],
        )
    assert code_of(excinfo) == "InvalidParametersException"


def test_a_bad_update_fails_and_rolls_back_to_tainted(
    sc: Any, backend: ServiceCatalogBackend
) -> None:
    ids = launchable(sc, backend)
    launched = provision(sc, ids, "studio-user-alice", UserProfileName="alice")
    v2 = add_version(sc, backend, ids["ProductId"], PROFILE_TEMPLATE)
    updated = sc.update_provisioned_product(
        ProvisionedProductName="studio-user-alice",
        ProvisioningArtifactId=v2,
        ProvisioningParameters=[
            {"Key": "UserProfileName", "UsePreviousValue": True},
            {"Key": "HiddenAppTypes", "Value": "Canvas,Notebook"},
        ],
    )["RecordDetail"]
    assert record(sc, updated["RecordId"])["Status"] == "FAILED"
    after = detail(sc, "studio-user-alice")
    assert after["Status"] == "TAINTED" and "HiddenAppTypes" in after["StatusMessage"]
    assert after["ProvisioningArtifactId"] == ids["ProvisioningArtifactId"]  # rolled back
    assert after["LastRecordId"] == updated["RecordId"]
    assert after["LastSuccessfulProvisioningRecordId"] == launched["RecordId"]
    assert stored(backend, "studio-user-alice")["HiddenAppTypes"] == "JupyterServer"
    fixed = sc.update_provisioned_product(
        ProvisionedProductName="studio-user-alice",
        ProvisioningArtifactId=v2,
        ProvisioningParameters=[{"Key": "UserProfileName", "UsePreviousValue": True}],
    )["RecordDetail"]
    assert record(sc, fixed["RecordId"])["Status"] == "SUCCEEDED"
    assert detail(sc, "studio-user-alice")["Status"] == "AVAILABLE"
    assert "StatusMessage" not in detail(sc, "studio-user-alice")


# --------------------------------------------------------------------------- asynchronous records


def test_provision_update_and_terminate_run_for_provisioning_s(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    ids = launchable(sc, backend)
    backend.configure(realism={"provisioning_s": 5.0})
    launched = provision(sc, ids, "studio-user-alice", UserProfileName="alice")
    assert launched["Status"] == "CREATED"
    assert record(sc, launched["RecordId"])["Status"] == "IN_PROGRESS"
    assert detail(sc, "studio-user-alice")["Status"] == "UNDER_CHANGE"
    assert [p["Status"] for p in searched(sc, "studio-user-alice")] == ["UNDER_CHANGE"]
    scanned = sc.scan_provisioned_products()["ProvisionedProducts"]
    assert [p["Status"] for p in scanned] == ["UNDER_CHANGE"]
    clock.advance(4.9)
    assert record(sc, launched["RecordId"])["Status"] == "IN_PROGRESS"
    clock.advance(0.1)
    assert record(sc, launched["RecordId"])["Status"] == "SUCCEEDED"
    assert detail(sc, "studio-user-alice")["Status"] == "AVAILABLE"

    keep = [{"Key": "UserProfileName", "UsePreviousValue": True}]
    updated = sc.update_provisioned_product(
        ProvisionedProductName="studio-user-alice", ProvisioningParameters=keep
    )["RecordDetail"]
    assert (updated["Status"], record(sc, updated["RecordId"])["Status"]) == (
        "CREATED",
        "IN_PROGRESS",
    )
    assert detail(sc, "studio-user-alice")["Status"] == "UNDER_CHANGE"
    clock.advance(5)
    assert record(sc, updated["RecordId"])["Status"] == "SUCCEEDED"
    assert (
        detail(sc, "studio-user-alice")["LastSuccessfulProvisioningRecordId"]
        == (updated["RecordId"])
    )

    terminated = sc.terminate_provisioned_product(ProvisionedProductName="studio-user-alice")
    assert terminated["RecordDetail"]["Status"] == "CREATED"
    assert detail(sc, "studio-user-alice")["Status"] == "UNDER_CHANGE"  # still there
    with pytest.raises(ClientError) as excinfo:
        provision(sc, ids, "studio-user-alice", UserProfileName="alice")
    assert code_of(excinfo) == "DuplicateResourceException"
    clock.advance(5)
    assert record(sc, terminated["RecordDetail"]["RecordId"])["Status"] == "SUCCEEDED"
    assert searched(sc, "studio-user-alice") == []
    assert sc.scan_provisioned_products()["ProvisionedProducts"] == []
    with pytest.raises(ClientError) as excinfo:
        detail(sc, "studio-user-alice")
    assert code_of(excinfo) == "ResourceNotFoundException"
    provision(sc, ids, "studio-user-alice", UserProfileName="alice")  # the name is free again


def test_a_product_under_change_cannot_be_updated_or_terminated(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    ids = launchable(sc, backend)
    backend.configure(realism={"provisioning_s": 5.0})
    provision(sc, ids, "studio-user-alice", UserProfileName="alice")
    with pytest.raises(ClientError) as excinfo:
        sc.update_provisioned_product(
            ProvisionedProductName="studio-user-alice",
            ProvisioningParameters=[{"Key": "UserProfileName", "UsePreviousValue": True}],
        )
    assert code_of(excinfo) == "InvalidParametersException"
    with pytest.raises(ClientError) as excinfo:
        sc.terminate_provisioned_product(ProvisionedProductName="studio-user-alice")
    assert code_of(excinfo) == "InvalidStateException"
    clock.advance(5)
    sc.terminate_provisioned_product(ProvisionedProductName="studio-user-alice")


def test_a_failing_launch_ends_failed_and_keeps_its_name_until_terminated(
    sc: Any, backend: ServiceCatalogBackend, clock: FakeClock
) -> None:
    ids = launchable(sc, backend)
    backend.configure(
        realism={"provisioning_s": 5.0, "failing_provisioned_names": ["studio-user-bob"]}
    )
    launched = provision(sc, ids, "studio-user-bob", UserProfileName="bob")
    assert launched["Status"] == "CREATED"
    assert detail(sc, "studio-user-bob")["Status"] == "UNDER_CHANGE"
    clock.advance(5)
    failed = record(sc, launched["RecordId"])
    assert failed["Status"] == "FAILED"
    assert failed["RecordErrors"] == [
        {
            "Code": "CREATE_FAILED",
            "Description": "The following resource(s) failed to create: [HiddenToolDenies].",
        }
    ]
    [found] = searched(sc, "studio-user-bob")
    assert found["Status"] == "ERROR"
    assert found["StatusMessage"] == failed["RecordErrors"][0]["Description"]
    assert "LastSuccessfulProvisioningRecordId" not in found
    assert detail(sc, "studio-user-bob")["Status"] == "ERROR"
    failed_search = sc.search_provisioned_products(Filters={"SearchQuery": ["status:ERROR"]})
    assert [p["Name"] for p in failed_search["ProvisionedProducts"]] == ["studio-user-bob"]
    with pytest.raises(ClientError) as excinfo:
        provision(sc, ids, "studio-user-bob", UserProfileName="bob")
    assert code_of(excinfo) == "DuplicateResourceException"

    retried = sc.update_provisioned_product(
        ProvisionedProductName="studio-user-bob",
        ProvisioningParameters=[{"Key": "UserProfileName", "UsePreviousValue": True}],
    )["RecordDetail"]
    clock.advance(5)
    assert record(sc, retried["RecordId"])["RecordErrors"][0]["Code"] == "UPDATE_FAILED"
    assert detail(sc, "studio-user-bob")["Status"] == "ERROR"  # still no stack running

    terminated = sc.terminate_provisioned_product(ProvisionedProductName="studio-user-bob")
    clock.advance(5)
    assert record(sc, terminated["RecordDetail"]["RecordId"])["Status"] == "SUCCEEDED"
    assert searched(sc, "studio-user-bob") == []
    backend.configure(realism={"failing_provisioned_names": []})
    again = provision(sc, ids, "studio-user-bob", UserProfileName="bob")
    clock.advance(5)
    assert record(sc, again["RecordId"])["Status"] == "SUCCEEDED"


def test_an_update_of_a_failing_name_leaves_the_product_tainted(
    sc: Any, backend: ServiceCatalogBackend
) -> None:
    ids = launchable(sc, backend)
    provision(sc, ids, "studio-user-carol", UserProfileName="carol")
    backend.configure(realism={"failing_provisioned_names": ["studio-user-carol"]})
    updated = sc.update_provisioned_product(
        ProvisionedProductName="studio-user-carol",
        ProvisioningParameters=params(UserProfileName="carol2"),
    )["RecordDetail"]
    assert record(sc, updated["RecordId"])["Status"] == "FAILED"
    assert detail(sc, "studio-user-carol")["Status"] == "TAINTED"
    assert stored(backend, "studio-user-carol")["UserProfileName"] == "carol"


# --------------------------------------------------------------------------- latency, throttling


def test_a_throttled_request_is_refused_before_the_latency(
    sc: Any, backend: ServiceCatalogBackend
) -> None:
    backend.configure(latency_s=1.0, throttle_rate=1.0)
    started = time.monotonic()
    with pytest.raises(ClientError) as excinfo:
        sc.list_portfolios()
    assert code_of(excinfo) == "ThrottlingException"
    assert time.monotonic() - started < 0.8  # a loopback round trip, with room for a busy CI
    backend.configure(throttle_rate=0.0)
    started = time.monotonic()
    sc.list_portfolios()
    assert time.monotonic() - started >= 1.0


def test_each_operation_can_have_its_own_latency(
    sc: Any, backend: ServiceCatalogBackend, server: ServiceCatalogServer
) -> None:
    config = backend.configure(operation_latency_s={"ListPortfolios": 1.0})
    assert config["operation_latency_s"] == {"ListPortfolios": 1.0}
    started = time.monotonic()
    sc.list_portfolios()
    assert time.monotonic() - started >= 1.0
    started = time.monotonic()
    sc.search_products_as_admin()  # not named: latency_s, 0
    assert time.monotonic() - started < 0.8  # a loopback round trip, with room for a busy CI

    assert backend.configure(latency_s=0.0)["operation_latency_s"] == {}  # a reset clears it
    started = time.monotonic()
    sc.list_portfolios()
    assert time.monotonic() - started < 0.8
    config = backend.configure(latency_s=0.01, operation_latency_s={"ProvisionProduct": 0.2})
    assert (config["latency_s"], config["operation_latency_s"]) == (0.01, {"ProvisionProduct": 0.2})
    assert backend.configure(throttle_rate=0.0)["operation_latency_s"] == {"ProvisionProduct": 0.2}
    with pytest.raises(ValueError, match="not an operation"):
        backend.configure(operation_latency_s={"ListPortfolio": 0.1})
    with pytest.raises(ValueError, match=">= 0"):
        backend.configure(operation_latency_s={"ListPortfolios": -1})
    assert ServiceCatalogBackend(operation_latency_s={"DescribeRecord": 0.1}).config()[
        "operation_latency_s"
    ] == {"DescribeRecord": 0.1}
    local = LocalAWS(operation_latency_s={"ProvisionProduct": 0.2})  # not started
    assert local.standin.config()["operation_latency_s"] == {"ProvisionProduct": 0.2}


# --------------------------------------------------------------------------- knobs, end to end


def test_realism_knobs_round_trip() -> None:
    realism = Realism(provisioning_s=0.5, failing_provisioned_names=frozenset(["a", "b"]))
    assert realism.failing_provisioned_names == frozenset({"a", "b"})
    assert Realism.from_dict(realism.as_dict()) == realism
    assert Realism().provisioning_s == 0.0 and not Realism().failing_provisioned_names
    assert Realism.realistic(provisioning_s=0.3).provisioning_s == 0.3
    with pytest.raises(ValueError, match="provisioning_s"):
        Realism(provisioning_s=-1)


def test_through_local_aws_and_moto_s3() -> None:
    """The version's template comes from moto's S3, as LoadTemplateFromURL names it."""
    with LocalAWS(realism=Realism(provisioning_s=0.2)) as aws:
        aws.client("s3").create_bucket(Bucket="studio-templates")
        aws.client("s3").put_object(
            Bucket="studio-templates", Key="user-profile/v1.yaml", Body=PROFILE_TEMPLATE.encode()
        )
        sc = aws.client("servicecatalog", config=NO_RETRIES)
        portfolio_id = sc.create_portfolio(DisplayName="Studio", ProviderName="Platform")[
            "PortfolioDetail"
        ]["Id"]
        created = sc.create_product(
            Name="User profile",
            Owner="Platform",
            ProductType="CLOUD_FORMATION_TEMPLATE",
            ProvisioningArtifactParameters={"Info": {"LoadTemplateFromURL": TEMPLATE_URL}},
        )
        product_id = created["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
        sc.associate_product_with_portfolio(PortfolioId=portfolio_id, ProductId=product_id)
        sc.create_constraint(
            PortfolioId=portfolio_id, ProductId=product_id, Type="LAUNCH", Parameters=LAUNCH
        )
        ids = {
            "ProductId": product_id,
            "ProvisioningArtifactId": created["ProvisioningArtifactDetail"]["Id"],
        }
        launched = provision(sc, ids, "studio-user-bob", UserProfileName="-bob")
        assert record(sc, launched["RecordId"])["Status"] == "IN_PROGRESS"
        time.sleep(0.25)
        failed = record(sc, launched["RecordId"])
        assert failed["Status"] == "FAILED"
        assert "'UserProfileName'" in failed["RecordErrors"][0]["Description"]
