"""Launch role vs. Service Catalog and CloudFormation themselves.

For every product template, what launching, updating and terminating it needs besides the
resource handlers:

* the CloudFormation stack actions of the Service Catalog Admin Guide's launch-role policy on
  the stack Service Catalog creates (``SC-<account>-pp-<id>``);
* ``s3:GetObject`` on Service Catalog's own copy of the template, in a bucket it owns, with
  ``s3:ExistingObjectTag/servicecatalog:provisioning = true``;
* ``ssm:GetParameters`` for every ``AWS::SSM::Parameter::Value<...>`` parameter default;
* ``lambda:InvokeFunction`` (``sns:Publish``) on every custom resource's ServiceToken;
* the dependent actions the Service Authorization Reference lists for every handler action
  (e.g. ``iam:CreateServiceLinkedRole`` for ``sagemaker:CreateDomain``).
"""

from __future__ import annotations

from collections.abc import Mapping

from factory.audit import registry, sar
from factory.audit.derived._requests import (
    Checker,
    Requirement,
    canonical,
    dependent_actions,
    frozen_context,
    gated_out,
    requirements_for,
    resource_facts,
)
from factory.audit.derived._world import SSM_VALUE_TYPE, Rendering, world
from factory.audit.derived.base import AuditInputs, ProofResult
from factory.audit.patterns import scalar_text

ORDER = 20
PROOF_ID = "launch-service-catalog"
TITLE = "Launch role can do what Service Catalog and CloudFormation do around the resources"

LAUNCH_GUIDE = (
    "Service Catalog Admin Guide, 'AWS Service Catalog Launch Constraints' and 'Step 6: Add a "
    "launch constraint' (https://docs.aws.amazon.com/servicecatalog/latest/adminguide/"
    "constraints-launch.html)"
)
#: The CloudFormation actions of the Admin Guide's example launch-role policy (ibid.).
STACK_ACTIONS = (
    "cloudformation:CreateStack",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplateSummary",
    "cloudformation:SetStackPolicy",
    "cloudformation:UpdateStack",
    "cloudformation:ValidateTemplate",
)
#: Service Catalog names the stack of a provisioned product SC-<account>-pp-<id>.
STACK_NAME = "SC-{account}-pp-abcdefghijklm"
STACK_UUID = "11111111-2222-3333-4444-555555555555"
#: Service Catalog launches from its own copy of the template, in a bucket it owns and tags
#: the object ``servicecatalog:provisioning=true`` (ibid., "Configuring a launch role").
TEMPLATE_COPY = "arn:{partition}:s3:::sc-{digest}-{region}/templates/product.template"
PROVISIONING_TAG = {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}
CFN_GUIDE = "CloudFormation User Guide, 'Custom resources' (ServiceToken) and SSM parameter types"
SAR_DEPENDENT = f"{sar.SOURCE}: dependent action of"


def check(inputs: AuditInputs) -> ProofResult:
    launch = world(inputs)
    checker = Checker(launch.launch_role)
    requirements: list[Requirement] = []
    for rendering in launch.renderings:
        requirements.extend(stack_requirements(rendering))
        requirements.extend(parameter_requirements(rendering))
        requirements.extend(custom_resource_requirements(rendering))
        requirements.extend(dependent_requirements(rendering))
    failures = checker.failures(requirements)
    return ProofResult(PROOF_ID, TITLE, checker.checked, tuple(failures))


def _pseudo(rendering: Rendering) -> Mapping[str, str]:
    context = rendering.resolver.context
    return {
        "partition": str(context["AWS::Partition"]),
        "region": str(context["AWS::Region"]),
        "account": str(context["AWS::AccountId"]),
    }


def stack_requirements(rendering: Rendering) -> list[Requirement]:
    p = _pseudo(rendering)
    stack = (
        f"arn:{p['partition']}:cloudformation:{p['region']}:{p['account']}:stack/"
        f"{STACK_NAME.format(account=p['account'])}/{STACK_UUID}"
    )
    found = [
        Requirement(
            rendering.path,
            "(stack)",
            action,
            "*" if sar.accepts_only_star(action) else stack,
            LAUNCH_GUIDE,
        )
        for action in STACK_ACTIONS
    ]
    copy = TEMPLATE_COPY.format(digest="0123456789abcdef", **p)
    context = frozen_context(PROVISIONING_TAG)
    found.append(
        Requirement(rendering.path, "(template copy)", "s3:GetObject", copy, LAUNCH_GUIDE, context)
    )
    return found


def parameter_requirements(rendering: Rendering) -> list[Requirement]:
    """CloudFormation resolves SSM parameter types with ssm:GetParameters as the stack role."""
    p = _pseudo(rendering)
    found: list[Requirement] = []
    for name, declaration in rendering.template.get("Parameters", {}).items():
        default = declaration.get("Default")
        if not str(declaration.get("Type", "")).startswith(SSM_VALUE_TYPE) or not default:
            continue
        arn = (
            f"arn:{p['partition']}:ssm:{p['region']}:{p['account']}:parameter/"
            f"{str(default).lstrip('/')}"
        )
        found.append(
            Requirement(rendering.path, f"Parameters/{name}", "ssm:GetParameters", arn, CFN_GUIDE)
        )
    return found


def custom_resource_requirements(rendering: Rendering) -> list[Requirement]:
    """CloudFormation invokes a custom resource's ServiceToken as the stack role."""
    resolver = rendering.resolver
    found: list[Requirement] = []
    for logical_id, resource in resolver.resources.items():
        if not registry.is_custom(str(resource.get("Type"))) or not resolver.exists(logical_id):
            continue
        token = scalar_text(resolver.resolve(resource.get("Properties", {}).get("ServiceToken")))
        action = "sns:Publish" if ":sns:" in token else "lambda:InvokeFunction"
        found.append(Requirement(rendering.path, logical_id, action, token, CFN_GUIDE))
    return found


def dependent_requirements(rendering: Rendering) -> list[Requirement]:
    """Dependent actions (SAR) of every handler permission of every resource."""
    resolver = rendering.resolver
    found: list[Requirement] = []
    for logical_id, resource in resolver.resources.items():
        kind = str(resource.get("Type"))
        if registry.is_custom(kind) or not resolver.exists(logical_id):
            continue
        try:
            schema = registry.type_schema(kind)
        except registry.UnknownResourceTypeError:
            continue  # launch_handlers reports it
        facts = resource_facts(rendering, logical_id, schema.taggable)
        for permission, phases in schema.permissions().items():
            action = canonical(permission)
            if action is None or gated_out(kind, action, facts.properties):
                continue
            for dependent in dependent_actions(action):
                if gated_out(kind, dependent, facts.properties):
                    continue
                source = f"{SAR_DEPENDENT} {action} ({kind})"
                found.extend(requirements_for(dependent, facts, phases, source, parent=action))
    return found
