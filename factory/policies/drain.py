"""What the profile drain function may do: delete one person's apps and private spaces.

The function's code already leaves shared spaces alone (``factory.launch.drain_function``);
the explicit Deny makes IAM say the same, so a bug in the code cannot delete a space other
people work in. ``sagemaker:SpaceSharingType`` is a condition key of DeleteSpace and DeleteApp
(Service Authorization Reference, Amazon SageMaker AI); apps outside any space carry no such
key, so the Deny does not touch them.
"""

from __future__ import annotations

from typing import Any

from awacs.aws import Allow, Condition, Deny, Statement, StringEquals

from factory.policies import arns
from factory.policies.actions import actions

SHARED_SPACES_SID = "NeverDeleteSharedSpacesOrTheirApps"


def statements(log_group_arn: Any) -> list[Statement]:
    return [
        Statement(
            Sid="ListingHasNoResourceScope",
            Effect=Allow,
            Action=actions("sagemaker", "ListApps", "ListSpaces"),
            Resource=["*"],
        ),
        Statement(
            Sid="DeleteStudioAppsAndSpaces",
            Effect=Allow,
            Action=actions("sagemaker", "DeleteApp", "DeleteSpace"),
            Resource=[arns.sagemaker("app/*/*"), arns.sagemaker("space/*/*")],
        ),
        Statement(
            Sid=SHARED_SPACES_SID,
            Effect=Deny,
            Action=actions("sagemaker", "DeleteApp", "DeleteSpace"),
            Resource=["*"],
            Condition=Condition(StringEquals({"sagemaker:SpaceSharingType": "Shared"})),
        ),
        Statement(
            Sid="WriteOwnLogs",
            Effect=Allow,
            Action=actions("logs", "CreateLogStream", "PutLogEvents"),
            Resource=[log_group_arn],
        ),
    ]
