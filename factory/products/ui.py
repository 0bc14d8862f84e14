"""Studio UI parameters shared by the domain and user-profile products.

Both products expose the same hidden-apps/tools/instance-types and idle-shutdown
parameters, with the same constraints, so a person's profile can override the domain
with exactly the vocabulary the domain uses.
"""

from __future__ import annotations

from typing import Any

from troposphere import Equals, If, Not, NoValue, Ref, Sub

from factory import naming
from factory.options import IdleOptions, StudioUiOptions
from factory.studio import (
    HIDEABLE_APP_TYPES,
    IDLE_MINUTES_MAX,
    IDLE_MINUTES_MIN,
    INSTANCE_TYPE_PATTERN,
    ML_TOOLS,
)
from factory.template import ProductTemplate, list_is_set


def parameters(pt: ProductTemplate, group: str, opts: StudioUiOptions, scope: str) -> None:
    who = "everyone in the domain" if scope == "domain" else "this person"
    pt.parameter(
        group,
        "HiddenAppTypes",
        "Hidden apps",
        Type="CommaDelimitedList",
        Default=",".join(opts.hidden_app_types),
        AllowedValues=["", *HIDEABLE_APP_TYPES],
        ConstraintDescription="Comma-separated app types from the allowed list; "
        "KernelGateway and RSessionGateway can never be hidden.",
        Description=f"Apps hidden from {who} in Studio. JupyterServer is Studio Classic. "
        "Hiding is visibility only: see EnforceHiddenTools on the user-profile product.",
    )
    pt.parameter(
        group,
        "HiddenMlTools",
        "Hidden ML tools",
        Type="CommaDelimitedList",
        Default=",".join(opts.hidden_ml_tools),
        AllowedValues=["", *ML_TOOLS],
        ConstraintDescription="Comma-separated ML tool names from the allowed list.",
        Description=f"ML tools hidden from {who} in Studio's navigation (visibility only).",
    )
    pt.parameter(
        group,
        "HiddenInstanceTypes",
        "Hidden instance types",
        Type="CommaDelimitedList",
        Default=",".join(opts.hidden_instance_types),
        AllowedPattern=INSTANCE_TYPE_PATTERN,
        ConstraintDescription="Comma-separated SageMaker instance types such as "
        "ml.p4d.24xlarge, or empty.",
        Description=f"Instance types hidden from {who} in Studio (visibility only).",
    )


def idle_parameters(pt: ProductTemplate, group: str, opts: IdleOptions) -> None:
    pt.parameter(
        group,
        "IdleShutdown",
        "Idle shutdown",
        Type="String",
        Default="ENABLED",
        AllowedValues=["ENABLED", "DISABLED"],
        Description="Shut JupyterLab and Code Editor apps down when idle (saves cost).",
    )
    for name, label, default, text in (
        (
            "IdleTimeoutMinutes",
            "Idle timeout (minutes)",
            opts.default_minutes,
            "Minutes of inactivity before an app shuts down.",
        ),
        (
            "MinIdleTimeoutMinutes",
            "Shortest timeout a user may set",
            opts.min_minutes,
            "Lower bound for a person's own idle timeout; keep it <= the timeout.",
        ),
        (
            "MaxIdleTimeoutMinutes",
            "Longest timeout a user may set",
            opts.max_minutes,
            "Upper bound for a person's own idle timeout; keep it >= the timeout.",
        ),
    ):
        pt.parameter(
            group,
            name,
            label,
            Type="Number",
            Default=default,
            MinValue=IDLE_MINUTES_MIN,
            MaxValue=IDLE_MINUTES_MAX,
            ConstraintDescription=f"Whole minutes from {IDLE_MINUTES_MIN} to {IDLE_MINUTES_MAX}.",
            Description=text,
        )


def conditions(pt: ProductTemplate) -> None:
    pt.condition("HasHiddenAppTypes", list_is_set("HiddenAppTypes"))
    pt.condition("HasHiddenMlTools", list_is_set("HiddenMlTools"))
    pt.condition("HasHiddenInstanceTypes", list_is_set("HiddenInstanceTypes"))
    if "IdleShutdown" in pt.template.parameters:
        pt.condition("IdleShutdownEnabled", Equals(Ref("IdleShutdown"), "ENABLED"))


def portal_settings() -> dict[str, Any]:
    return {
        "HiddenAppTypes": If("HasHiddenAppTypes", Ref("HiddenAppTypes"), NoValue),
        "HiddenMlTools": If("HasHiddenMlTools", Ref("HiddenMlTools"), NoValue),
        "HiddenInstanceTypes": If("HasHiddenInstanceTypes", Ref("HiddenInstanceTypes"), NoValue),
    }


# --- lifecycle configurations (the studio-lifecycle-configs product) -------------------------

LIFECYCLE_SET = "LifecycleConfigSet"
LIFECYCLE_CONDITION = "HasLifecycleConfigs"
#: The lifecycle-configs product's ConfigSetName rule, or empty.
LIFECYCLE_SET_PATTERN = r"^(|[a-z0-9]([a-z0-9-]{0,31}[a-z0-9])?)$"


def lifecycle_parameter(pt: ProductTemplate, group: str, inherit: str) -> None:
    """`LifecycleConfigSet`: which launch of the lifecycle-configs product to attach.

    A dynamic SSM reference, not an `AWS::SSM::Parameter::Value` parameter: that type cannot
    be optional (the stack fails when the parameter does not exist), and empty must mean
    "none". The ARNs are the product's `/studio-catalog/lifecycle-configs/<set>/...-arn`.
    """
    pt.parameter(
        group,
        LIFECYCLE_SET,
        "Lifecycle configurations (optional)",
        Type="String",
        Default="",
        MaxLength=33,
        AllowedPattern=LIFECYCLE_SET_PATTERN,
        ConstraintDescription="Empty, or the ConfigSetName of a studio-lifecycle-configs launch.",
        Description="The ConfigSetName of a studio-lifecycle-configs launch: its scripts run "
        f"at every JupyterLab and Code Editor start (built-in lifecycle configuration). {inherit}",
    )
    pt.condition(LIFECYCLE_CONDITION, Not(Equals(Ref(LIFECYCLE_SET), "")))


def lifecycle_arn(kind: str) -> Any:
    """The built-in lifecycle configuration ARN of `kind` (jupyterlab | code-editor), or no
    value. The built-in slot always runs and is resolved at app start, so updates of the
    lifecycle-configs product reach every space (Developer Guide, "Lifecycle configurations
    within Amazon SageMaker Studio")."""
    return If(LIFECYCLE_CONDITION, lifecycle_reference(kind), NoValue)


def lifecycle_reference(kind: str) -> Sub:
    """The dynamic SSM reference alone (inside a block already under the condition)."""
    path = naming.LIFECYCLE_SSM_TEMPLATE.format(set=f"${{{LIFECYCLE_SET}}}") + f"/{kind}-arn"
    return Sub(f"{{{{resolve:ssm:{path}}}}}")
