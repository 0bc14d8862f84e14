"""factory.users.quota with botocore's Stubber on a real service-quotas client: each request
and answer is validated against the service model. moto's Service Quotas serves only `vpc`
defaults (ListAWSDefaultServiceQuotas, no ListServiceQuotas), so it cannot stand in here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber

from factory.users.quota import Quota, check_capacity, profile_quota

PROFILES = "Maximum number of Studio user profiles allowed per account"
PROFILES_CODE = "L-AC46C40F"


@pytest.fixture
def client() -> BaseClient:
    return boto3.client("service-quotas", region_name="us-east-1")


@pytest.fixture
def stub(client: BaseClient) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def quota(name: str, code: str, value: float | None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "ServiceCode": "sagemaker",
        "ServiceName": "Amazon SageMaker",
        "QuotaArn": f"arn:aws:servicequotas:us-east-1:123456789012:sagemaker/{code}",
        "QuotaCode": code,
        "QuotaName": name,
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
    }
    if value is not None:
        found["Value"] = value
    return found


def pages(stub: Stubber, method: str, *answers: list[dict[str, Any]]) -> None:
    """One stubbed page per answer, chained with NextToken as botocore's paginator sends it."""
    for index, quotas in enumerate(answers):
        params: dict[str, Any] = {"ServiceCode": "sagemaker"}
        if index:
            params["NextToken"] = f"token{index}"
        response: dict[str, Any] = {"Quotas": quotas}
        if index + 1 < len(answers):
            response["NextToken"] = f"token{index + 1}"
        stub.add_response(method, response, params)


def filler(count: int) -> list[dict[str, Any]]:
    return [quota(f"ml.m5.{i}xlarge for training job usage", f"L-{i:08X}", 4) for i in range(count)]


def test_the_applied_value_wins_over_the_default(client: BaseClient, stub: Stubber) -> None:
    pages(stub, "list_service_quotas", filler(3), [quota(PROFILES, PROFILES_CODE, 60.0)])
    pages(stub, "list_aws_default_service_quotas", [quota(PROFILES, PROFILES_CODE, 2.0)])
    assert profile_quota(client) == Quota(60, PROFILES, PROFILES_CODE, "applied")


def test_the_default_fills_in_when_no_value_is_applied(client: BaseClient, stub: Stubber) -> None:
    pages(stub, "list_service_quotas", filler(2))
    pages(
        stub,
        "list_aws_default_service_quotas",
        filler(2),
        filler(1),
        [quota(PROFILES.upper(), PROFILES_CODE, 2.0)],  # matched case-insensitively
    )
    assert profile_quota(client) == Quota(2, PROFILES.upper(), PROFILES_CODE, "default")


def test_the_smallest_of_several_matches(client: BaseClient, stub: Stubber) -> None:
    per_domain = "Maximum number of user profiles per domain"
    pages(
        stub,
        "list_service_quotas",
        [quota(PROFILES, PROFILES_CODE, 60.0), quota(per_domain, "L-00000001", 50.5)],
    )
    pages(
        stub,
        "list_aws_default_service_quotas",
        [
            quota(PROFILES, PROFILES_CODE, 2.0),
            quota(per_domain, "L-00000001", 10.0),
            quota("Apps per user profile", "L-00000002", 1.0),  # not a cap on profiles
            quota("Studio user profile tags", "L-00000003", None),  # no value
        ],
    )
    assert profile_quota(client) == Quota(50, per_domain, "L-00000001", "applied")


def test_no_quota_on_user_profiles_is_unknown(client: BaseClient, stub: Stubber) -> None:
    pages(stub, "list_service_quotas", filler(2))
    pages(stub, "list_aws_default_service_quotas", filler(2))
    assert profile_quota(client) is None


@pytest.mark.parametrize("code", ["AccessDeniedException", "NoSuchResourceException"])
def test_access_denied_or_no_such_resource_is_unknown(
    client: BaseClient, stub: Stubber, code: str
) -> None:
    stub.add_client_error("list_service_quotas", service_error_code=code)
    assert profile_quota(client) is None


def test_a_denied_default_listing_is_unknown_too(client: BaseClient, stub: Stubber) -> None:
    pages(stub, "list_service_quotas", [quota(PROFILES, PROFILES_CODE, 60.0)])
    stub.add_client_error(
        "list_aws_default_service_quotas", service_error_code="AccessDeniedException"
    )
    assert profile_quota(client) is None


def test_other_errors_are_raised(client: BaseClient, stub: Stubber) -> None:
    stub.add_client_error("list_service_quotas", service_error_code="IllegalArgumentException")
    with pytest.raises(Exception, match="IllegalArgumentException"):
        profile_quota(client)


LIMIT = Quota(60, PROFILES, PROFILES_CODE, "applied")


@pytest.mark.parametrize(
    ("existing", "new"), [(0, 60), (59, 1), (60, 0), (75, 0), (0, 0), (10, 50)]
)
def test_within_the_quota_is_no_problem(existing: int, new: int) -> None:
    assert check_capacity(existing, new, LIMIT) is None
    assert check_capacity(existing, new, 60) is None


def test_one_over_the_quota_is_a_problem() -> None:
    assert check_capacity(59, 2, LIMIT) == (
        "2 new people + 59 existing profiles > quota 60 (Maximum number of Studio user "
        "profiles allowed per account, L-AC46C40F); ask for an increase in Service Quotas, or "
        "split the file"
    )
    assert check_capacity(0, 61, LIMIT) is not None
    assert check_capacity(60, 1, LIMIT) is not None


def test_a_plain_number_is_the_admins_max_profiles() -> None:
    assert check_capacity(3, 3, 5) == (
        "3 new people + 3 existing profiles > quota 5 (--max-profiles); ask for an increase "
        "in Service Quotas, or split the file"
    )
