"""The Service Authorization Reference lookups the derived proofs rely on."""

from __future__ import annotations

import pytest

from factory.audit import sar


def test_create_domain_accepts_a_domain_arn_and_depends_on_service_linked_role():
    assert [rt.name for rt in sar.resource_types("sagemaker:CreateDomain")] == ["domain"]
    assert "iam:CreateServiceLinkedRole" in sar.dependent_actions("sagemaker:CreateDomain")


@pytest.mark.parametrize(
    ("action", "pattern", "fits"),
    [
        # Service Catalog's provisioned-product actions accept only "*" (SAR: no resource type).
        (
            "servicecatalog:UpdateProvisionedProduct",
            "arn:aws:servicecatalog:*:*:stack/*/pp-*",
            False,
        ),
        ("servicecatalog:UpdateProvisionedProduct", "*", True),
        (
            "servicecatalog:ProvisionProduct",
            "arn:aws:catalog:us-east-1:111122223333:product/*",
            True,
        ),
        ("sagemaker:CreateDomain", "arn:aws:sagemaker:us-east-1:111122223333:domain/*", True),
        (
            "sagemaker:CreateDomain",
            "arn:aws:sagemaker:us-east-1:111122223333:user-profile/*",
            False,
        ),
        ("sagemaker:CreateDomain", "arn:aws:sagemaker:*:*:*", True),
        ("iam:PassRole", "arn:aws:iam::111122223333:role/studio-catalog/execution/*", True),
        ("iam:PassRole", "arn:aws:iam::111122223333:policy/x", False),
        ("s3:GetObject", "arn:aws:s3:::bucket/*", True),
        ("s3:GetObject", "arn:aws:s3:::bucket", False),  # a bucket is not an object
    ],
)
def test_scope_fits(action, pattern, fits):
    assert sar.scope_fits(action, pattern) is fits


def test_wildcards_do_not_cross_arn_fields():
    assert not sar.pattern_fits("arn:aws:iam::*", "arn:${Partition}:s3:::${BucketName}")


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("arn:aws:s3:::my.bucket", "arn:aws:s3:::my?bucket", True),
        ("axb", "a.b", False),  # a dot is a dot, not a regex
        ("a+b", "a*", True),
        ("ab", "a?b", False),
        ("", "*", True),
        ("a\nb", "a*b", True),
        ("role/team-*", "role/*-admin", True),  # both wildcarded: some string fits both
        ("role/a*", "role/b*", False),
        ("x?", "?y", True),
    ],
)
def test_two_patterns_meet_when_some_string_fits_both(a: str, b: str, meet: bool) -> None:
    assert sar._globs_intersect(a, b) is meet
    assert sar._globs_intersect(b, a) is meet
