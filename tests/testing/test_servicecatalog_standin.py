"""The Service Catalog stand-in, exercised through real boto3 clients over loopback HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from botocore.retries.standard import ExponentialBackoff

from factory.testing.local_aws import LocalAWS
from factory.testing.servicecatalog import (
    Realism,
    ServiceCatalogBackend,
    ServiceCatalogServer,
    ShapeMismatchError,
    check_output,
    parse_template,
    service_model,
)
from tests.support.standin import code_of

TEMPLATE_URL = "https://studio-templates.s3.amazonaws.com/notebook/v1.yaml"
LAUNCH_ROLE = "arn:aws:iam::123456789012:role/SCLaunchRole"
LAUNCH_PARAMETERS = json.dumps({"RoleArn": LAUNCH_ROLE})
NO_RETRIES = Config(retries={"mode": "standard", "max_attempts": 1})
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  DomainId:
    Type: String
    Description: SageMaker Studio domain
    AllowedPattern: "d-[a-z0-9]+"
  InstanceType:
    Type: String
    Default: ml.t3.medium
    AllowedValues: [ml.t3.medium, ml.m5.large]
Resources:
  Space:
    Type: AWS::SageMaker::Space
    Properties:
      DomainId: !Ref DomainId
      SpaceName: !Sub "${AWS::StackName}-space"
Outputs:
  SpaceArn:
    Description: The space
    Value: !GetAtt Space.SpaceArn
"""


# --------------------------------------------------------------------------- fixtures & helpers


@pytest.fixture(scope="module")
def server() -> Iterator[ServiceCatalogServer]:
    with ServiceCatalogServer() as srv:
        yield srv


@pytest.fixture
def backend(server: ServiceCatalogServer) -> ServiceCatalogBackend:
    server.backend.reset()
    server.backend.reset_stats()
    server.backend.configure(
        latency_s=0.0,
        throttle_rate=0.0,
        require_launch_constraint=True,
        share_polls_before_complete=0,
        realism=Realism(),
    )
    return server.backend


def make_client(endpoint: str, region: str = "us-east-1", config: Config = NO_RETRIES) -> Any:
    return boto3.client(
        "servicecatalog",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


@pytest.fixture
def sc(server: ServiceCatalogServer, backend: ServiceCatalogBackend) -> Any:
    return make_client(server.endpoint_url)


def make_portfolio(sc: Any, name: str = "Studio") -> str:
    detail = sc.create_portfolio(DisplayName=name, ProviderName="Platform")["PortfolioDetail"]
    return str(detail["Id"])


def make_product(sc: Any, name: str = "Notebook", url: str = TEMPLATE_URL) -> tuple[str, str]:
    response = sc.create_product(
        Name=name,
        Owner="Platform team",
        ProductType="CLOUD_FORMATION_TEMPLATE",
        ProvisioningArtifactParameters={"Name": "v1", "Info": {"LoadTemplateFromURL": url}},
    )
    product_id = response["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
    return product_id, response["ProvisioningArtifactDetail"]["Id"]


def add_version(sc: Any, product_id: str, name: str, **kwargs: Any) -> str:
    parameters = {"Name": name, "Info": {"LoadTemplateFromURL": TEMPLATE_URL}}
    response = sc.create_provisioning_artifact(
        ProductId=product_id, Parameters=parameters, **kwargs
    )
    return str(response["ProvisioningArtifactDetail"]["Id"])


def raw_call(
    endpoint: str, operation: str, body: dict[str, Any] | bytes, region: str = "us-east-1"
) -> tuple[int, dict[str, Any]]:
    """POST a hand-made JSON 1.1 request, bypassing botocore's client-side validation."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    scope = f"testing/20250101/{region}/servicecatalog/aws4_request"
    authorization = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"
    request = urllib.request.Request(
        f"{endpoint}/",
        data=data,
        method="POST",
        headers={
            "X-Amz-Target": f"AWS242ServiceCatalogService.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": authorization,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def http_json(url: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response))


# --------------------------------------------------------------------------- admin side


def test_portfolio_and_product_round_trip(sc: Any) -> None:
    created = sc.create_portfolio(
        DisplayName="Studio",
        ProviderName="Platform",
        Description="ML workbenches",
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    portfolio = created["PortfolioDetail"]
    assert re.fullmatch(r"port-[a-z0-9]{13}", portfolio["Id"])
    assert portfolio["ARN"] == f"arn:aws:catalog:us-east-1:123456789012:portfolio/{portfolio['Id']}"
    product_id, artifact_id = make_product(sc)
    assert re.fullmatch(r"prod-[a-z0-9]{13}", product_id)
    assert re.fullmatch(r"pa-[a-z0-9]{13}", artifact_id)
    sc.associate_product_with_portfolio(ProductId=product_id, PortfolioId=portfolio["Id"])

    described = sc.describe_portfolio(Id=portfolio["Id"])
    assert described["PortfolioDetail"]["Description"] == "ML workbenches"
    assert described["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert [p["Id"] for p in sc.list_portfolios()["PortfolioDetails"]] == [portfolio["Id"]]
    admin = sc.describe_product_as_admin(Id=product_id)
    assert admin["ProductViewDetail"]["ProductViewSummary"]["Name"] == "Notebook"
    assert [s["Id"] for s in admin["ProvisioningArtifactSummaries"]] == [artifact_id]
    assert admin["Tags"] == [] and admin["TagOptions"] == []
    assert (
        sc.describe_product_as_admin(Name="Notebook")["ProductViewDetail"]
        == admin["ProductViewDetail"]
    )
    found = sc.search_products_as_admin(PortfolioId=portfolio["Id"])["ProductViewDetails"]
    assert [d["ProductViewSummary"]["ProductId"] for d in found] == [product_id]
    for_product = sc.list_portfolios_for_product(ProductId=product_id)["PortfolioDetails"]
    assert [p["Id"] for p in for_product] == [portfolio["Id"]]

    with pytest.raises(ClientError) as excinfo:
        sc.delete_product(Id=product_id)
    assert code_of(excinfo) == "ResourceInUseException"
    with pytest.raises(ClientError) as excinfo:
        sc.describe_portfolio(Id="port-doesnotexist1")
    assert code_of(excinfo) == "ResourceNotFoundException"


def test_search_pagination_filters_and_updates(sc: Any) -> None:
    ids = [make_product(sc, name)[0] for name in ("Alpha", "Beta", "Gamma")]
    first = sc.search_products_as_admin(PageSize=2, SortBy="Title")
    assert len(first["ProductViewDetails"]) == 2 and first["NextPageToken"]
    second = sc.search_products_as_admin(
        PageSize=2, SortBy="Title", PageToken=first["NextPageToken"]
    )
    assert [d["ProductViewSummary"]["Name"] for d in second["ProductViewDetails"]] == ["Gamma"]
    assert "NextPageToken" not in second
    text = sc.search_products_as_admin(Filters={"FullTextSearch": ["bet"]})["ProductViewDetails"]
    assert [d["ProductViewSummary"]["ProductId"] for d in text] == [ids[1]]
    with pytest.raises(ClientError) as excinfo:
        sc.search_products_as_admin(PageToken="not-a-token")
    assert code_of(excinfo) == "InvalidParametersException"

    updated = sc.update_product(
        Id=ids[0], Description="first", AddTags=[{"Key": "stage", "Value": "dev"}]
    )
    assert updated["ProductViewDetail"]["ProductViewSummary"]["ShortDescription"] == "first"
    assert updated["Tags"] == [{"Key": "stage", "Value": "dev"}]
    portfolio_id = make_portfolio(sc)
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(20)]
    assert len(sc.update_portfolio(Id=portfolio_id, AddTags=tags)["Tags"]) == 20
    with pytest.raises(ClientError) as excinfo:
        sc.update_portfolio(Id=portfolio_id, AddTags=[{"Key": "one-too-many", "Value": "v"}])
    assert code_of(excinfo) == "LimitExceededException"
    removed = sc.update_portfolio(Id=portfolio_id, RemoveTags=["k0"], DisplayName="Renamed")
    assert len(removed["Tags"]) == 19 and removed["PortfolioDetail"]["DisplayName"] == "Renamed"


def test_idempotency_token_returns_the_same_artifact(
    sc: Any, backend: ServiceCatalogBackend
) -> None:
    product_id, _ = make_product(sc)
    first = add_version(sc, product_id, "v2", IdempotencyToken="publish-v2")
    again = add_version(sc, product_id, "v2", IdempotencyToken="publish-v2")
    assert again == first
    versions = sc.list_provisioning_artifacts(ProductId=product_id)["ProvisioningArtifactDetails"]
    assert [v["Name"] for v in versions] == ["v1", "v2"]
    token = "portfolio-token"
    ids = {
        sc.create_portfolio(DisplayName="P", ProviderName="X", IdempotencyToken=token)[
            "PortfolioDetail"
        ]["Id"]
        for _ in range(3)
    }
    assert len(ids) == 1 and len(sc.list_portfolios()["PortfolioDetails"]) == 1
    assert backend.stats()["idempotent_replays"] == 3


def test_101st_version_is_rejected(sc: Any) -> None:
    product_id, _ = make_product(sc)
    for number in range(2, 101):
        add_version(sc, product_id, f"v{number}")
    with pytest.raises(ClientError) as excinfo:
        add_version(sc, product_id, "v101")
    assert code_of(excinfo) == "LimitExceededException"
    versions = sc.list_provisioning_artifacts(ProductId=product_id)["ProvisioningArtifactDetails"]
    assert len(versions) == 100


def test_iam_pattern_principal_rules(sc: Any) -> None:
    portfolio_id = make_portfolio(sc)
    for index in range(10):
        sc.associate_principal_with_portfolio(
            PortfolioId=portfolio_id,
            PrincipalARN=f"arn:aws:iam:::role/studio/team-{index}/*",
            PrincipalType="IAM_PATTERN",
        )
    with pytest.raises(ClientError) as excinfo:
        sc.associate_principal_with_portfolio(
            PortfolioId=portfolio_id,
            PrincipalARN="arn:aws:iam:::role/studio/eleventh-*",
            PrincipalType="IAM_PATTERN",
        )
    assert code_of(excinfo) == "LimitExceededException"
    bad = [
        ("arn:aws:iam::123456789012:role/Studio*", "IAM_PATTERN"),  # account must be empty
        ("arn:aws:iam:::*/Studio", "IAM_PATTERN"),  # wildcard outside path/name
        ("arn:aws:iam::123456789012:role/Studio*", "IAM"),  # IAM takes no wildcards
        ("arn:aws:iam:::role/StudioUser", "IAM"),  # IAM needs the account
    ]
    for arn, principal_type in bad:
        with pytest.raises(ClientError) as excinfo:
            sc.associate_principal_with_portfolio(
                PortfolioId=portfolio_id, PrincipalARN=arn, PrincipalType=principal_type
            )
        assert code_of(excinfo) == "InvalidParametersException", arn
    sc.associate_principal_with_portfolio(  # the pattern cap does not limit plain IAM principals
        PortfolioId=portfolio_id, PrincipalARN=LAUNCH_ROLE, PrincipalType="IAM"
    )
    principals = sc.list_principals_for_portfolio(PortfolioId=portfolio_id, PageSize=20)
    assert len(principals["Principals"]) == 11
    sc.disassociate_principal_from_portfolio(PortfolioId=portfolio_id, PrincipalARN=LAUNCH_ROLE)
    with pytest.raises(ClientError) as excinfo:
        sc.delete_portfolio(Id=portfolio_id)
    assert code_of(excinfo) == "ResourceInUseException"


def test_last_version_cannot_be_deleted(sc: Any) -> None:
    product_id, first = make_product(sc)
    second = add_version(sc, product_id, "v2")
    sc.delete_provisioning_artifact(ProductId=product_id, ProvisioningArtifactId=first)
    with pytest.raises(ClientError) as excinfo:
        sc.delete_provisioning_artifact(ProductId=product_id, ProvisioningArtifactId=second)
    assert code_of(excinfo) == "InvalidParametersException"
    with pytest.raises(ClientError) as excinfo:
        sc.create_product(Name="Bare", Owner="me", ProductType="CLOUD_FORMATION_TEMPLATE")
    assert code_of(excinfo) == "InvalidParametersException"  # no first version


def test_constraints_need_association_and_one_launch_constraint(sc: Any) -> None:
    portfolio_id = make_portfolio(sc)
    product_id, _ = make_product(sc)
    pair = {"PortfolioId": portfolio_id, "ProductId": product_id}
    with pytest.raises(ClientError) as excinfo:
        sc.create_constraint(**pair, Type="LAUNCH", Parameters=LAUNCH_PARAMETERS)
    assert code_of(excinfo) == "ResourceNotFoundException"

    sc.associate_product_with_portfolio(**pair)
    launch = sc.create_constraint(**pair, Type="LAUNCH", Parameters=LAUNCH_PARAMETERS)
    constraint_id = launch["ConstraintDetail"]["ConstraintId"]
    assert re.fullmatch(r"cons-[a-z0-9]{13}", constraint_id) and launch["Status"] == "AVAILABLE"
    with pytest.raises(ClientError) as excinfo:
        sc.create_constraint(**pair, Type="LAUNCH", Parameters='{"LocalRoleName": "Other"}')
    assert code_of(excinfo) == "DuplicateResourceException"
    invalid = [
        ("LAUNCH", json.dumps({"RoleArn": LAUNCH_ROLE, "LocalRoleName": "Both"})),
        ("RESOURCE_UPDATE", '{"TagUpdatesOnProvisionedProduct": "SOMETIMES"}'),
        ("NOTIFICATION", '{"NotificationArns": []}'),
        ("TEMPLATE", '{"Rules": "not-an-object"}'),
        ("TEMPLATE", "not json"),
    ]
    for constraint_type, parameters in invalid:
        with pytest.raises(ClientError) as excinfo:
            sc.create_constraint(**pair, Type=constraint_type, Parameters=parameters)
        assert code_of(excinfo) == "InvalidParametersException", parameters
    update = {"Version": "2.0", "Properties": {"TagUpdateOnProvisionedProduct": "ALLOWED"}}
    sc.create_constraint(**pair, Type="RESOURCE_UPDATE", Parameters=json.dumps(update))
    listed = sc.list_constraints_for_portfolio(PortfolioId=portfolio_id, ProductId=product_id)
    assert sorted(c["Type"] for c in listed["ConstraintDetails"]) == ["LAUNCH", "RESOURCE_UPDATE"]
    sc.update_constraint(Id=constraint_id, Description="launch as SCLaunchRole")
    assert sc.describe_constraint(Id=constraint_id)["ConstraintDetail"]["Description"] == (
        "launch as SCLaunchRole"
    )
    with pytest.raises(ClientError) as excinfo:
        sc.disassociate_product_from_portfolio(**pair)
    assert code_of(excinfo) == "ResourceInUseException"


def test_tag_options(sc: Any) -> None:
    portfolio_id = make_portfolio(sc)
    product_id, _ = make_product(sc)
    option = sc.create_tag_option(Key="cost-center", Value="ml-1")["TagOptionDetail"]
    assert re.fullmatch(r"tag-[a-z0-9]{13}", option["Id"]) and option["Active"] is True
    with pytest.raises(ClientError) as excinfo:
        sc.create_tag_option(Key="cost-center", Value="ml-1")
    assert code_of(excinfo) == "DuplicateResourceException"
    for resource_id in (portfolio_id, product_id):
        sc.associate_tag_option_with_resource(ResourceId=resource_id, TagOptionId=option["Id"])
    with pytest.raises(ClientError) as excinfo:
        sc.associate_tag_option_with_resource(ResourceId=product_id, TagOptionId=option["Id"])
    assert code_of(excinfo) == "DuplicateResourceException"
    resources = sc.list_resources_for_tag_option(TagOptionId=option["Id"], ResourceType="Product")
    assert [r["Id"] for r in resources["ResourceDetails"]] == [product_id]
    assert sc.describe_portfolio(Id=portfolio_id)["TagOptions"][0]["Value"] == "ml-1"
    sc.create_tag_option(Key="cost-center", Value="ml-2")
    filtered = sc.list_tag_options(Filters={"Key": "cost-center", "Value": "ml-2"})
    assert [o["Value"] for o in filtered["TagOptionDetails"]] == ["ml-2"]
    with pytest.raises(ClientError) as excinfo:
        sc.delete_tag_option(Id=option["Id"])
    assert code_of(excinfo) == "ResourceInUseException"
    with pytest.raises(ClientError) as excinfo:
        sc.update_tag_option(Id=option["Id"], Value="ml-2")
    assert code_of(excinfo) == "DuplicateResourceException"
    assert sc.update_tag_option(Id=option["Id"], Active=False)["TagOptionDetail"]["Active"] is False


def test_share_in_progress_blocks_a_second_share_action(
    sc: Any, backend: ServiceCatalogBackend
) -> None:
    portfolio_id = make_portfolio(sc)
    org_share = {"Type": "ORGANIZATIONAL_UNIT", "Value": "ou-ab12-cdefgh34"}
    token = sc.create_portfolio_share(
        PortfolioId=portfolio_id, OrganizationNode=org_share, SharePrincipals=True
    )["PortfolioShareToken"]
    with pytest.raises(ClientError) as excinfo:
        sc.create_portfolio_share(PortfolioId=portfolio_id, AccountId="210987654321")
    assert code_of(excinfo) == "InvalidStateException"
    status = sc.describe_portfolio_share_status(PortfolioShareToken=token)
    assert status["Status"] == "COMPLETED" and status["PortfolioId"] == portfolio_id

    account_share = sc.create_portfolio_share(PortfolioId=portfolio_id, AccountId="210987654321")
    assert "PortfolioShareToken" not in account_share  # account shares complete immediately
    assert sc.list_portfolio_access(PortfolioId=portfolio_id)["AccountIds"] == ["210987654321"]
    shares = sc.describe_portfolio_shares(PortfolioId=portfolio_id, Type="ORGANIZATIONAL_UNIT")
    assert shares["PortfolioShareDetails"][0]["SharePrincipals"] is True
    with pytest.raises(ClientError) as excinfo:
        sc.create_portfolio_share(
            PortfolioId=portfolio_id, AccountId="111122223333", SharePrincipals=True
        )
    assert code_of(excinfo) == "InvalidParametersException"

    backend.configure(share_polls_before_complete=1)
    token = sc.update_portfolio_share(
        PortfolioId=portfolio_id, OrganizationNode=org_share, ShareTagOptions=True
    )["PortfolioShareToken"]
    assert sc.describe_portfolio_share_status(PortfolioShareToken=token)["Status"] == "IN_PROGRESS"
    with pytest.raises(ClientError) as excinfo:
        sc.delete_portfolio_share(PortfolioId=portfolio_id, OrganizationNode=org_share)
    assert code_of(excinfo) == "InvalidStateException"
    assert sc.describe_portfolio_share_status(PortfolioShareToken=token)["Status"] == "COMPLETED"
    sc.delete_portfolio_share(PortfolioId=portfolio_id, AccountId="210987654321")
    with pytest.raises(ClientError) as excinfo:
        sc.delete_portfolio(Id=portfolio_id)  # the OU share is still there
    assert code_of(excinfo) == "ResourceInUseException"


# --------------------------------------------------------------------------- end-user side


def test_provisioning_flow(sc: Any, backend: ServiceCatalogBackend) -> None:
    portfolio_id = make_portfolio(sc)
    product_id, v1 = make_product(sc)
    sc.associate_product_with_portfolio(ProductId=product_id, PortfolioId=portfolio_id)
    paths = sc.list_launch_paths(ProductId=product_id)["LaunchPathSummaries"]
    assert len(paths) == 1 and paths[0]["Name"] == "Studio"
    provision = {
        "ProductId": product_id,
        "ProvisioningArtifactId": v1,
        "PathId": paths[0]["Id"],
        "ProvisionedProductName": "alice-notebook",
    }
    with pytest.raises(ClientError) as excinfo:  # require_launch_constraint=True
        sc.provision_product(**provision)
    assert code_of(excinfo) == "InvalidParametersException"
    sc.create_constraint(
        PortfolioId=portfolio_id, ProductId=product_id, Type="LAUNCH", Parameters=LAUNCH_PARAMETERS
    )
    summaries = sc.list_launch_paths(ProductId=product_id)["LaunchPathSummaries"]
    assert summaries[0]["ConstraintSummaries"] == [{"Type": "LAUNCH"}]
    view = sc.describe_product(Id=product_id)
    assert [a["Id"] for a in view["ProvisioningArtifacts"]] == [v1]
    assert view["LaunchPaths"] == [{"Id": paths[0]["Id"], "Name": "Studio"}]
    view_id = view["ProductViewSummary"]["Id"]
    assert sc.describe_product_view(Id=view_id)["ProductViewSummary"]["ProductId"] == product_id

    record = sc.provision_product(**provision)["RecordDetail"]
    assert re.fullmatch(r"rec-[a-z0-9]{13}", record["RecordId"])
    described = sc.describe_record(Id=record["RecordId"])
    assert described["RecordDetail"]["Status"] == "SUCCEEDED"
    assert described["RecordDetail"]["LaunchRoleArn"] == LAUNCH_ROLE
    assert described["RecordOutputs"][0]["OutputKey"] == "CloudformationStackARN"
    pp_id = record["ProvisionedProductId"]
    assert re.fullmatch(r"pp-[a-z0-9]{13}", pp_id)
    search = sc.search_provisioned_products(Filters={"SearchQuery": ["name:alice-notebook"]})
    assert search["TotalResultsCount"] == 1
    assert search["ProvisionedProducts"][0]["Status"] == "AVAILABLE"
    assert search["ProvisionedProducts"][0]["ProvisioningArtifactName"] == "v1"
    assert [p["Id"] for p in sc.scan_provisioned_products()["ProvisionedProducts"]] == [pp_id]
    assert (
        sc.describe_provisioned_product(Name="alice-notebook")["ProvisionedProductDetail"]["Id"]
        == pp_id
    )
    with pytest.raises(ClientError) as excinfo:
        sc.provision_product(**provision)
    assert code_of(excinfo) == "DuplicateResourceException"

    # Versions in use cannot be deleted; DEPRECATED blocks new launches but not updates.
    v2 = add_version(sc, product_id, "v2")
    with pytest.raises(ClientError) as excinfo:
        sc.delete_provisioning_artifact(ProductId=product_id, ProvisioningArtifactId=v1)
    assert code_of(excinfo) == "ResourceInUseException"
    sc.update_provisioning_artifact(
        ProductId=product_id, ProvisioningArtifactId=v2, Guidance="DEPRECATED"
    )
    with pytest.raises(ClientError) as excinfo:
        sc.provision_product(
            **{**provision, "ProvisionedProductName": "bob", "ProvisioningArtifactId": v2}
        )
    assert code_of(excinfo) == "InvalidParametersException"
    updated = sc.update_provisioned_product(ProvisionedProductId=pp_id, ProvisioningArtifactId=v2)
    assert updated["RecordDetail"]["RecordType"] == "UPDATE_PROVISIONED_PRODUCT"
    sc.update_provisioning_artifact(ProductId=product_id, ProvisioningArtifactId=v1, Active=False)
    with pytest.raises(ClientError) as excinfo:
        sc.update_provisioned_product(ProvisionedProductId=pp_id, ProvisioningArtifactId=v1)
    assert code_of(excinfo) == "InvalidParametersException"

    terminated = sc.terminate_provisioned_product(ProvisionedProductId=pp_id)["RecordDetail"]
    assert sc.describe_record(Id=terminated["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    assert sc.search_provisioned_products()["TotalResultsCount"] == 0
    history = sc.list_record_history(SearchFilter={"Key": "provisionedproduct", "Value": pp_id})
    assert {r["RecordType"] for r in history["RecordDetails"]} == {
        "PROVISION_PRODUCT",
        "UPDATE_PROVISIONED_PRODUCT",
        "TERMINATE_PROVISIONED_PRODUCT",
    }
    stats = backend.stats()
    assert stats["by_operation"]["ProvisionProduct"] == 4
    assert stats["mutating"] + stats["read"] == stats["total"]


# --------------------------------------------------------------------------- wire protocol


def test_server_validates_params_against_the_model(sc: Any, server: ServiceCatalogServer) -> None:
    with pytest.raises(ParamValidationError):  # botocore catches this before sending
        sc.describe_portfolio(Id="port-x", Bogus=1)
    status, body = raw_call(server.endpoint_url, "DescribePortfolio", {"Id": "port-x", "Bogus": 1})
    assert status == 400 and body["__type"] == "ValidationException"
    assert 'Unknown parameter in input: "Bogus"' in body["Message"]
    status, body = raw_call(server.endpoint_url, "DescribePortfolio", {})
    assert 'Missing required parameter in input: "Id"' in body["Message"]
    status, body = raw_call(
        server.endpoint_url,
        "CreateProduct",
        {"Name": "n", "Owner": "o", "ProductType": "ZIP", "IdempotencyToken": "t"},
    )
    assert status == 400 and "valid values" in body["Message"]  # enum, unchecked by botocore
    status, body = raw_call(server.endpoint_url, "MakeCoffee", {})
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = raw_call(
        server.endpoint_url,
        "CopyProduct",
        {
            "SourceProductArn": "arn:aws:catalog:us-east-1:123456789012:product/prod-x",
            "IdempotencyToken": "t",
        },
    )
    assert (status, body["__type"]) == (501, "NotImplemented")
    status, body = raw_call(server.endpoint_url, "ListPortfolios", b"[1, 2]")
    assert (status, body["__type"]) == (400, "SerializationException")


def test_region_comes_from_the_credential_scope(sc: Any, server: ServiceCatalogServer) -> None:
    status, body = raw_call(
        server.endpoint_url,
        "CreatePortfolio",
        {"DisplayName": "EU", "ProviderName": "Platform", "IdempotencyToken": "eu-1"},
        region="eu-west-1",
    )
    assert status == 200 and ":eu-west-1:" in body["PortfolioDetail"]["ARN"]
    assert sc.list_portfolios()["PortfolioDetails"] == []
    eu = make_client(server.endpoint_url, region="eu-west-1")
    assert [p["DisplayName"] for p in eu.list_portfolios()["PortfolioDetails"]] == ["EU"]


def test_output_checker_rejects_drift() -> None:
    shape = service_model().operation_model("DescribePortfolio").output_shape
    check_output(shape, {"PortfolioDetail": {"Id": "port-1", "CreatedTime": 1.5}, "Tags": []})
    drifted = [
        {"PortfolioDetail": {"Id": "port-1"}, "Extra": 1},  # key not in the shape
        {"PortfolioDetail": {"Id": 7}},  # wrong type
        {"PortfolioDetail": {"CreatedTime": "yesterday"}},  # timestamps are epoch numbers
        {"Tags": [{"Key": "k"}]},  # Tag.Value is required
    ]
    for response in drifted:
        with pytest.raises(ShapeMismatchError):
            check_output(shape, response)
    record_shape = service_model().operation_model("DescribeRecord").output_shape
    with pytest.raises(ShapeMismatchError):
        check_output(record_shape, {"RecordDetail": {"Status": "DONE"}})  # not in the enum

    with ServiceCatalogServer() as server:  # a private server: the handler swap must not leak
        server.backend.set_handler("ListPortfolios", lambda state, params: {"Portfolios": []})
        with pytest.raises(ClientError) as excinfo:
            make_client(server.endpoint_url).list_portfolios()
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "Portfolios" in excinfo.value.response["Error"]["Message"]


def test_throttling_is_retried_by_botocore(
    server: ServiceCatalogServer, backend: ServiceCatalogBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Real backoff for throttles is rand(0, 1) * 2**attempt seconds; shrink the scale so the
    # retry path (the same code) runs in milliseconds.
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.001)
    backend.configure(throttle_rate=0.3, seed=1234)
    client = make_client(
        server.endpoint_url, config=Config(retries={"mode": "standard", "max_attempts": 10})
    )
    for _ in range(50):
        assert client.list_portfolios()["PortfolioDetails"] == []
    stats = backend.stats()
    assert stats["throttled"] > 0
    assert stats["total"] == 50 + stats["throttled"]  # every throttled request was retried
    assert stats["by_operation"]["ListPortfolios"] == stats["total"]
    assert stats["read"] == stats["total"] and stats["mutating"] == 0

    backend.configure(throttle_rate=1.0)
    with pytest.raises(ClientError) as excinfo:
        make_client(server.endpoint_url).list_portfolios()
    assert code_of(excinfo) == "ThrottlingException"


def test_control_endpoints_and_latency(
    sc: Any, server: ServiceCatalogServer, backend: ServiceCatalogBackend
) -> None:
    base = f"{server.endpoint_url}/_standin"
    config = http_json(f"{base}/config", {"latency_ms": 50, "throttle_rate": 0.0, "seed": 3})
    assert config["latency_s"] == pytest.approx(0.05) and config["seed"] == 3
    make_portfolio(sc)
    assert sc.list_portfolios()["PortfolioDetails"]
    stats = http_json(f"{base}/stats")
    assert stats["by_operation"] == {"CreatePortfolio": 1, "ListPortfolios": 1}
    assert (stats["mutating"], stats["read"], stats["throttled"]) == (1, 1, 0)
    assert [r.operation for r in backend.request_log()] == ["CreatePortfolio", "ListPortfolios"]
    assert http_json(f"{base}/reset", {}) == {"ok": True}
    assert sc.list_portfolios()["PortfolioDetails"] == []
    assert http_json(f"{base}/stats/reset", {})["total"] == 0
    with pytest.raises(urllib.error.HTTPError):
        http_json(f"{base}/config", {"throttle_rate": 2})


def test_backend_is_thread_safe(
    server: ServiceCatalogServer, backend: ServiceCatalogBackend
) -> None:
    def create(index: int) -> str:
        client: BaseClient = make_client(server.endpoint_url)
        return make_portfolio(client, f"P{index}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(40)))
    assert len(set(ids)) == 40
    assert len(backend.region_state().portfolios) == 40


# --------------------------------------------------------------------------- LocalAWS


def test_local_aws_routes_s3_to_moto_and_servicecatalog_to_the_standin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    with LocalAWS() as aws:
        assert set(aws.env) >= {
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_SERVICE_CATALOG",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
        }
        for name, value in aws.env.items():
            monkeypatch.setenv(name, value)
        session = boto3.Session()
        s3 = session.client("s3")
        sc = session.client("servicecatalog")
        assert s3.meta.endpoint_url == aws.moto_endpoint_url
        assert sc.meta.endpoint_url == aws.standin_endpoint_url
        s3.create_bucket(Bucket="studio-templates")
        s3.put_object(Bucket="studio-templates", Key="notebook/v1.yaml", Body=TEMPLATE.encode())
        buckets = aws.client("s3").list_buckets()["Buckets"]
        assert [b["Name"] for b in buckets] == ["studio-templates"]

        # The stand-in validates LoadTemplateFromURL against moto's S3, like AWS does.
        with pytest.raises(ClientError) as excinfo:
            make_product(sc, "Missing", url="https://studio-templates.s3.amazonaws.com/nope.yaml")
        assert code_of(excinfo) == "InvalidParametersException"
        product_id, artifact_id = make_product(sc)
        portfolio_id = make_portfolio(sc)
        sc.associate_product_with_portfolio(ProductId=product_id, PortfolioId=portfolio_id)
        parameters = sc.describe_provisioning_parameters(
            ProductId=product_id, ProvisioningArtifactId=artifact_id
        )
        by_key = {p["ParameterKey"]: p for p in parameters["ProvisioningArtifactParameters"]}
        assert by_key["InstanceType"]["DefaultValue"] == "ml.t3.medium"
        assert by_key["InstanceType"]["ParameterConstraints"]["AllowedValues"] == [
            "ml.t3.medium",
            "ml.m5.large",
        ]
        assert by_key["DomainId"]["ParameterConstraints"]["AllowedPattern"] == "d-[a-z0-9]+"
        assert parameters["ProvisioningArtifactOutputKeys"] == [
            {"Key": "SpaceArn", "Description": "The space"}
        ]
        aws.standin.configure(require_launch_constraint=False)
        with pytest.raises(ClientError) as excinfo:  # DomainId has no default
            sc.provision_product(
                ProductId=product_id, ProvisioningArtifactId=artifact_id, ProvisionedProductName="x"
            )
        assert code_of(excinfo) == "InvalidParametersException"
        sc.provision_product(
            ProductId=product_id,
            ProvisioningArtifactId=artifact_id,
            ProvisionedProductName="x",
            ProvisioningParameters=[{"Key": "DomainId", "Value": "d-abc123"}],
        )
        assert aws.standin.stats()["by_operation"]["ProvisionProduct"] == 2


def test_every_operation_round_trips_through_a_full_lifecycle(
    sc: Any, backend: ServiceCatalogBackend
) -> None:
    """Touch every implemented operation once (each response is shape-checked server-side),
    ending with the teardown order a publisher must follow."""
    portfolio_id = make_portfolio(sc)
    product_id, v1 = make_product(sc)
    pair = {"PortfolioId": portfolio_id, "ProductId": product_id}
    sc.associate_product_with_portfolio(**pair)
    sc.associate_principal_with_portfolio(
        PortfolioId=portfolio_id, PrincipalARN=LAUNCH_ROLE, PrincipalType="IAM"
    )
    constraint_id = sc.create_constraint(**pair, Type="LAUNCH", Parameters=LAUNCH_PARAMETERS)[
        "ConstraintDetail"
    ]["ConstraintId"]
    option_id = sc.create_tag_option(Key="env", Value="dev")["TagOptionDetail"]["Id"]
    sc.associate_tag_option_with_resource(ResourceId=portfolio_id, TagOptionId=option_id)
    sc.describe_tag_option(Id=option_id)
    assert sc.list_resources_for_tag_option(TagOptionId=option_id)["ResourceDetails"]
    parameters = sc.describe_provisioning_parameters(
        ProductId=product_id, ProvisioningArtifactId=v1
    )
    assert parameters["TagOptions"] == [{"Key": "env", "Values": ["dev"]}]
    assert parameters["UsageInstructions"] == [{"Type": "launchAsRole", "Value": LAUNCH_ROLE}]
    artifact = sc.describe_provisioning_artifact(
        ProductName="Notebook", ProvisioningArtifactName="v1", Verbose=True
    )
    assert artifact["Info"] == {"TemplateUrl": TEMPLATE_URL}
    record = sc.provision_product(
        ProductName="Notebook", ProvisioningArtifactName="v1", ProvisionedProductName="pp-one"
    )["RecordDetail"]
    assert (
        sc.list_record_history(SearchFilter={"Key": "product", "Value": product_id})[
            "RecordDetails"
        ][0]["RecordId"]
        == record["RecordId"]
    )
    sorted_pps = sc.search_provisioned_products(SortBy="name", SortOrder="DESCENDING")
    assert [p["Name"] for p in sorted_pps["ProvisionedProducts"]] == ["pp-one"]
    sc.terminate_provisioned_product(ProvisionedProductName="pp-one")

    sc.delete_constraint(Id=constraint_id)
    sc.disassociate_tag_option_from_resource(ResourceId=portfolio_id, TagOptionId=option_id)
    sc.delete_tag_option(Id=option_id)
    sc.disassociate_principal_from_portfolio(
        PortfolioId=portfolio_id, PrincipalARN=LAUNCH_ROLE, PrincipalType="IAM"
    )
    sc.disassociate_product_from_portfolio(**pair)
    sc.delete_portfolio(Id=portfolio_id)
    sc.delete_product(Id=product_id)
    assert sc.list_portfolios()["PortfolioDetails"] == []
    assert sc.search_products_as_admin()["ProductViewDetails"] == []

    assert set(backend.operations) <= set(service_model().operation_names)
    assert len(backend.operations) == 57


def test_serve_command_prints_exports_and_stops_on_sigterm() -> None:
    """``python -m factory.testing serve`` as ``make rehearse`` runs it."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-m", "factory.testing", "serve", "--latency-ms", "1", "--seed", "5"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        exports: dict[str, str] = {}
        while len(exports) < 5:
            line = process.stdout.readline()
            assert line, "serve exited before printing its environment"
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = value
        assert exports["AWS_DEFAULT_REGION"] == "us-east-1"
        standin = exports["AWS_ENDPOINT_URL_SERVICE_CATALOG"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", standin)
        config = http_json(f"{standin}/_standin/config")
        assert config["latency_s"] == pytest.approx(0.001)
        assert (
            config["realism"]
            == Realism.realistic(
                organization_role="management", organizations_access=True
            ).as_dict()
        )
        assert make_client(standin).list_portfolios()["PortfolioDetails"] == []
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- the console's calls

OUTPUTS_TEMPLATE = """\
Parameters:
  DomainId: {Type: String}
  UserProfileName: {Type: String, Default: alice}
  SsoUserName: {Type: String, Default: ""}
Conditions:
  SsoUserNameGiven: !Not [!Equals [!Ref SsoUserName, ""]]
Resources:
  Profile:
    Type: AWS::SageMaker::UserProfile
    Properties: {DomainId: !Ref DomainId, UserProfileName: !Ref UserProfileName}
Outputs:
  Who:
    Description: Who opens Studio
    Value: !If [SsoUserNameGiven, !Ref SsoUserName, !Sub "${UserProfileName}@${DomainId}"]
  Where:
    Value: !Join [":", [!Ref "AWS::Region", !Ref "AWS::AccountId"]]
  Arn:
    Value: !GetAtt Profile.UserProfileArn
  OnlyWithSso:
    Condition: SsoUserNameGiven
    Value: yes
"""


def _launchable(sc: Any, backend: ServiceCatalogBackend) -> tuple[str, str]:
    portfolio_id = make_portfolio(sc)
    product_id, artifact_id = make_product(sc)
    sc.associate_product_with_portfolio(ProductId=product_id, PortfolioId=portfolio_id)
    sc.create_constraint(
        PortfolioId=portfolio_id, ProductId=product_id, Type="LAUNCH", Parameters=LAUNCH_PARAMETERS
    )
    return product_id, artifact_id


def test_search_products_lists_what_end_users_can_launch(
    sc: Any, backend: ServiceCatalogBackend
) -> None:
    product_id, _ = _launchable(sc, backend)
    make_product(sc, "Orphan")  # in no portfolio: not launchable, not listed
    summaries = sc.search_products()["ProductViewSummaries"]
    assert [s["ProductId"] for s in summaries] == [product_id]
    assert sc.search_products(Filters={"FullTextSearch": ["nothing"]})["ProductViewSummaries"] == []
    second, _ = make_product(sc, "Editor")
    sc.associate_product_with_portfolio(
        ProductId=second, PortfolioId=sc.list_portfolios()["PortfolioDetails"][0]["Id"]
    )
    first_page = sc.search_products(PageSize=1, SortBy="Title")
    assert [s["Name"] for s in first_page["ProductViewSummaries"]] == ["Editor"]
    rest = sc.search_products(PageSize=1, SortBy="Title", PageToken=first_page["NextPageToken"])
    assert [s["Name"] for s in rest["ProductViewSummaries"]] == ["Notebook"]
    assert "NextPageToken" not in rest


def test_provisioned_product_outputs_resolve_the_simple_values(
    sc: Any, backend: ServiceCatalogBackend
) -> None:
    product_id, artifact_id = _launchable(sc, backend)
    artifact = backend.region_state().products[product_id].artifacts[artifact_id]
    artifact.template = parse_template(OUTPUTS_TEMPLATE)  # what moto's S3 would have served
    sc.provision_product(
        ProductId=product_id,
        ProvisioningArtifactId=artifact_id,
        ProvisionedProductName="pp-alice",
        ProvisioningParameters=[{"Key": "DomainId", "Value": "d-abc123"}],
    )
    outputs = sc.get_provisioned_product_outputs(ProvisionedProductName="pp-alice")["Outputs"]
    by_key = {o["OutputKey"]: o for o in outputs}
    assert by_key["Who"] == {
        "OutputKey": "Who",
        "OutputValue": "alice@d-abc123",
        "Description": "Who opens Studio",
    }
    assert by_key["Where"]["OutputValue"] == "us-east-1:123456789012"
    assert by_key["Arn"]["OutputValue"].startswith("{{standin:unresolved")
    assert "OnlyWithSso" not in by_key  # its Condition is false
    only = sc.get_provisioned_product_outputs(ProvisionedProductName="pp-alice", OutputKeys=["Who"])
    assert [o["OutputKey"] for o in only["Outputs"]] == ["Who"]
    with pytest.raises(ClientError) as excinfo:
        sc.get_provisioned_product_outputs(ProvisionedProductName="nobody")
    assert code_of(excinfo) == "ResourceNotFoundException"


def test_service_actions_of_a_version_are_listed(sc: Any) -> None:
    product_id, artifact_id = make_product(sc)
    listed = sc.list_service_actions_for_provisioning_artifact(
        ProductId=product_id, ProvisioningArtifactId=artifact_id
    )
    assert listed["ServiceActionSummaries"] == []
    with pytest.raises(ClientError) as excinfo:
        sc.list_service_actions_for_provisioning_artifact(
            ProductId=product_id, ProvisioningArtifactId="pa-missing"
        )
    assert code_of(excinfo) == "ResourceNotFoundException"


def test_unsigned_requests_are_refused(sc: Any, server: ServiceCatalogServer) -> None:
    unsigned = boto3.client(
        "servicecatalog",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as excinfo:
        unsigned.list_portfolios()
    assert code_of(excinfo) == "MissingAuthenticationTokenException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    request = urllib.request.Request(
        f"{server.endpoint_url}/",
        data=b"{}",
        method="POST",
        headers={
            "X-Amz-Target": "AWS242ServiceCatalogService.ListPortfolios",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "Bearer not-sigv4",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as http_error:
        urllib.request.urlopen(request, timeout=10)
    assert http_error.value.code == 400
    assert json.load(http_error.value)["__type"] == "IncompleteSignatureException"
    assert sc.list_portfolios()["PortfolioDetails"] == []  # signed requests still pass


def test_serve_and_rehearse_are_realistic_unless_simple() -> None:
    from factory.testing.__main__ import build_parser, realism_for
    from factory.testing.rehearse import rehearsal_realism

    def parsed(*argv: str) -> Realism:
        return realism_for(build_parser().parse_args(["serve", *argv]))

    assert parsed("--simple") == Realism()
    assert parsed().available_after_s > 0 and parsed().can_share_with_organization
    standalone = parsed("--organization-role", "standalone")
    assert not standalone.can_share_with_organization
    assert not parsed("--no-organizations-access").can_share_with_organization
    assert rehearsal_realism(simple=True) == Realism()
    assert rehearsal_realism() == Realism.realistic(
        organization_role="management", organizations_access=True
    )
