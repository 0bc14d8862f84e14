"""Launch role vs. CloudFormation handlers.

For every resource of every product template (resolved with every Condition true, and with
default parameters), every permission its registry schema's create/read/update/delete handlers
and tagging list becomes a request made as the bootstrap stack's launch role, against the
resource's own ARN (or the role it passes, the key it uses), with the context CloudFormation
sends. A resource type no registry schema knows fails; custom resources are covered by
``launch_service_catalog`` (their ServiceToken).
"""

from __future__ import annotations

from factory.audit import registry
from factory.audit.derived._requests import (
    Checker,
    Requirement,
    canonical,
    gated_out,
    requirements_for,
    resource_facts,
)
from factory.audit.derived._world import Rendering, world
from factory.audit.derived.base import AuditInputs, Failure, ProofResult

ORDER = 10
PROOF_ID = "launch-handlers"
TITLE = "Launch role can run every CloudFormation handler of every product resource"


def check(inputs: AuditInputs) -> ProofResult:
    launch = world(inputs)
    checker = Checker(launch.launch_role)
    failures: list[Failure] = []
    requirements: list[Requirement] = []
    for rendering in launch.renderings:
        found, problems = rendering_requirements(rendering)
        requirements.extend(found)
        failures.extend(problems)
    failures.extend(checker.failures(requirements))
    return ProofResult(PROOF_ID, TITLE, checker.checked, tuple(dict.fromkeys(failures)))


def rendering_requirements(rendering: Rendering) -> tuple[list[Requirement], list[Failure]]:
    """Handler requests of every resource that exists in this rendering, and type failures."""
    requirements: list[Requirement] = []
    failures: list[Failure] = []
    resolver = rendering.resolver
    for logical_id, resource in resolver.resources.items():
        kind = str(resource.get("Type"))
        if registry.is_custom(kind) or not resolver.exists(logical_id):
            continue
        try:
            schema = registry.type_schema(kind)
        except registry.UnknownResourceTypeError as error:
            failures.append(
                Failure(rendering.path, logical_id, "-", kind, registry.SOURCE, str(error))
            )
            continue
        found, unknown = _resource_requirements(rendering, logical_id, schema)
        requirements.extend(found)
        failures.extend(unknown)
    return requirements, failures


def _resource_requirements(
    rendering: Rendering, logical_id: str, schema: registry.TypeSchema
) -> tuple[list[Requirement], list[Failure]]:
    facts = resource_facts(rendering, logical_id, schema.taggable)
    tagging = [a for a in (canonical(p) for p in schema.tagging) if a]
    requirements: list[Requirement] = []
    failures: list[Failure] = []
    for permission, phases in schema.permissions().items():
        action = canonical(permission)
        source = f"{registry.SOURCE} {schema.type_name} {'/'.join(phases)}"
        if gated_out(schema.type_name, action or permission, facts.properties):
            continue  # a permission for a property the template never sets, known or not
        if action is None:
            reason = "not in the Service Authorization Reference: add an alias in _requests.py"
            failures.append(Failure(rendering.path, logical_id, permission, "?", source, reason))
            continue
        if gated_out(schema.type_name, action, facts.properties):
            continue
        requirements.extend(requirements_for(action, facts, phases, source, tagging))
    return requirements, failures
