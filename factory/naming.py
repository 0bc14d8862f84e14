"""Names shared between products, the bootstrap stack and the publisher.

Everything that one stack publishes and another reads lives here, so the contract is in
one place: SSM parameter paths (products find each other through SSM, never through
CloudFormation exports, which would lock the exporting stack) and the IAM path under
which products may create roles.
"""

from __future__ import annotations

SSM_ROOT = "/studio-catalog"

#: The domain product publishes its outputs under ``domain_ssm_prefix(<DomainName>)``.
DOMAIN_SSM_TEMPLATE = SSM_ROOT + "/domains/{domain}"
DEFAULT_DOMAIN_NAME = "studio"

#: Keys published by the domain product under its prefix.
DOMAIN_KEYS = (
    "domain-id",
    "domain-arn",
    "execution-role-arn",
    "security-group-id",
    "vpc-id",
    "auth-mode",
    "kms-key-arn",
)

#: Bootstrap stack outputs, published under this prefix (issue 3 fills it in).
BOOTSTRAP_SSM_PREFIX = SSM_ROOT + "/bootstrap"
BOUNDARY_SSM_PARAMETER = BOOTSTRAP_SSM_PREFIX + "/permissions-boundary-arn"
DRAIN_FUNCTION_SSM_PARAMETER = BOOTSTRAP_SSM_PREFIX + "/profile-drain-function-arn"
TEMPLATE_BUCKET_SSM_PARAMETER = BOOTSTRAP_SSM_PREFIX + "/template-bucket-name"

#: Launch constraints name the launch role by ``LocalRoleName`` so one portfolio works in
#: every account; the bootstrap stack therefore creates it under this (overridable) name.
DEFAULT_LAUNCH_ROLE_NAME = "StudioCatalogLaunchRole"
#: The bootstrap StackSet's default name (environment `bootstrap.stack_set_name`) and the
#: bootstrap template's parameter carrying it (the publisher's coverage check reads it).
DEFAULT_STACK_SET_NAME = "studio-catalog-bootstrap"
STACK_SET_NAME_PARAMETER = "BootstrapStackSetName"

#: The bootstrap stack's persona roles (cloud admin, data scientist, publisher) live here, so
#: portfolios can name them with an account-free IAM_PATTERN despite generated names.
PERSONA_ROLE_PATH = "/studio-catalog/personas/"

#: Managed policies created by products live under this path; the launch role may create and
#: change policies only here.
POLICY_PATH = "/studio-catalog/"

#: The bootstrap stack's own managed policies (the permissions boundary, part of the launch
#: role's policy) live outside :data:`POLICY_PATH` (``policy/studio-catalog/*`` does not match
#: ``policy/studio-catalog-bootstrap/...``), so no grant on product policies can ever reach the
#: ceiling of the roles products create, or the launch role's own permissions (issue 7, "No
#: escalation through the boundary").
BOOTSTRAP_POLICY_PATH = "/studio-catalog-bootstrap/"

#: Roles created by products live under this path; the launch role may create roles only
#: here, and only with the permissions boundary attached.
EXECUTION_ROLE_PATH = "/studio-catalog/execution/"

#: Tag that ties a user profile (and its role) to one person; the presigned-URL policy
#: compares it with the caller's principal tag of the same name.
USER_TAG = "studiouserid"


def domain_ssm_parameter(key: str, domain: str = DEFAULT_DOMAIN_NAME) -> str:
    """SSM parameter name under which the domain product publishes ``key``."""
    if key not in DOMAIN_KEYS:
        raise ValueError(f"unknown domain SSM key {key!r}; allowed: {', '.join(DOMAIN_KEYS)}")
    return f"{DOMAIN_SSM_TEMPLATE.format(domain=domain)}/{key}"


#: Tag every KMS key (and other shared-namespace resource) a catalog product creates carries,
#: so the launch role's key-management permissions can be scoped to those keys only
#: (``aws:ResourceTag`` on existing keys, ``aws:RequestTag`` on CreateKey/TagResource).
MANAGED_BY_TAG = "studio-catalog:managed-by"
MANAGED_BY_VALUE = "studio-catalog-factory"

#: Key prefix of the per-region publish locks in the template bucket (factory/publish/lock.py);
#: the PublisherRole may delete objects only under it.
PUBLISH_LOCK_PREFIX = ".studio-catalog/locks/"


#: What the other products publish for each other (each a template of SSM names under
#: SSM_ROOT, filled with the launch's own name so a second launch never collides).
TEAM_SSM_TEMPLATE = SSM_ROOT + "/teams/{team}"
TEAM_KEYS = ("execution-role-arn",)
NETWORK_SSM_TEMPLATE = SSM_ROOT + "/networks/{network}"
NETWORK_KEYS = ("vpc-id", "subnet-ids")
LIFECYCLE_SSM_TEMPLATE = SSM_ROOT + "/lifecycle-configs/{set}"


def team_ssm_parameter(team: str, key: str = "execution-role-arn") -> str:
    """SSM parameter name under which the team-role product publishes ``key`` for ``team``."""
    if key not in TEAM_KEYS:
        raise ValueError(f"unknown team SSM key {key!r}; allowed: {', '.join(TEAM_KEYS)}")
    return f"{TEAM_SSM_TEMPLATE.format(team=team)}/{key}"
