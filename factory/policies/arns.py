"""ARN builders that stay valid in every partition, region and account (StackSets)."""

from __future__ import annotations

from typing import Any

from troposphere import Sub

PREFIX = "arn:${AWS::Partition}"


def sagemaker(resource: str, **variables: Any) -> Sub:
    """``arn:<partition>:sagemaker:<region>:<account>:<resource>`` with ``${X}`` variables."""
    return _sub(f"{PREFIX}:sagemaker:${{AWS::Region}}:${{AWS::AccountId}}:{resource}", variables)


def regional(service: str, resource: str, **variables: Any) -> Sub:
    return _sub(f"{PREFIX}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}", variables)


def global_(service: str, resource: str, **variables: Any) -> Sub:
    """ARN of a global service resource (IAM): no region field."""
    return _sub(f"{PREFIX}:{service}::${{AWS::AccountId}}:{resource}", variables)


def s3(resource: str, **variables: Any) -> Sub:
    return _sub(f"{PREFIX}:s3:::{resource}", variables)


def _sub(text: str, variables: dict[str, Any]) -> Sub:
    return Sub(text, **variables) if variables else Sub(text)
