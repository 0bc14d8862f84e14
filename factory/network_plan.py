"""How big the Studio VPC and its subnets must be: seed 002's "VPC network planning", as code.

Pure functions, no AWS call. :func:`plan` counts the IP addresses SageMaker and the services
Studio uses put into the domain's subnets (one elastic network interface, one IPv4 address,
each), and turns the count into the smallest per-subnet and VPC prefixes that hold it.

The method (seed 002: *SageMaker Studio Administration Best Practices*, whitepaper of
2023-04-25, "Network management" / "VPC network planning", Table 1 and its scenario):

* **user level** - Studio puts one ENI in a domain subnet for every *instance* a person runs,
  and SageMaker two per training or processing instance started with the domain's VPC
  configuration (five with EFA);
* **domain level, per subnet** - one EFS mount target per subnet, and one ENI per interface
  VPC endpoint per subnet (the seed counts ten endpoints: "Three AZs/subnets with 10 VPCE
  each");
* the seed's scenario: a data scientist with a JupyterServer (one "system" instance), apps on
  two instance types and one training instance uses 1 + 2 + 2 = 5 IPs; 100 such people use
  500, plus the domain's 11 per subnet (1 EFS + 10 endpoints) = **511**, "you need to create
  the VPC subnet CIDR with /22". :func:`plan` reproduces it (``experience="classic"``), and
  the /22 follows from the VPC User Guide's five reserved addresses: 511 + 5 = 516 > 512.

Choices where the sources are silent (worst case, as the project's rules ask):

* **Every subnet holds every person.** The SageMaker Developer Guide ("Connect Amazon
  SageMaker Studio in a VPC to External Resources") adds the subnets' capacities up, but which
  subnet an app lands in is SageMaker's choice and is not documented; an Availability Zone out
  of an instance type, or lost, moves the whole load to the others. The seed's own example
  sizes each subnet for all 100 people (500 + 11 per subnet), and so does :func:`plan`.
* **Studio (new)**: every running JupyterLab or Code Editor app is a space of its own on an
  instance of its own (``SpaceSettings.AppType``: one app type per space, botocore's
  SageMaker model, CreateSpace), so a person uses one IP per running app. **Studio Classic**:
  one IP for the JupyterServer "system" instance plus one per instance type, since Classic
  runs up to four KernelGateway apps of one person on one instance of a type (seed 002:
  "There is a limit of four kernel gateway apps per instance type launched for every user").
* Growth is applied to the person-level IPs (people and their apps grow; the domain's
  endpoints do not), rounded up.

The Developer Guide's rule of thumb ("We recommend between 2 and 4 IP addresses per user") is
below the seed's scenario (5 a person in Classic, 6 in Studio with four running apps); the
count follows what the admin says people run.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any, Literal

Experience = Literal["studio", "classic"]
EXPERIENCES: tuple[Experience, ...] = ("studio", "classic")

#: VPC User Guide, "Subnet CIDR blocks" (subnet-sizing.html): "The first four IP addresses and
#: the last IP address in each subnet CIDR block are not available for your use".
RESERVED_PER_SUBNET = 5
#: Same page: "The allowed IPv4 CIDR block size for a subnet is between a /28 netmask and /16
#: netmask"; VPC User Guide, "VPC CIDR blocks": the same bounds for a VPC.
LARGEST_PREFIX = 16
SMALLEST_PREFIX = 28

#: Seed 002, Table 1: "VPC endpoints ... Three AZs/subnets with 10 VPCE each" (four SageMaker
#: endpoints, ~six for S3, ECR, CloudWatch and others). The studio-network product creates
#: seven interface endpoints (S3 is a gateway endpoint: no ENI); ten leaves room for three
#: more (SSM, KMS, Service Catalog for Projects, ...). A test keeps the product below it.
ENDPOINTS_PER_SUBNET = 10
#: Seed 002: "Amazon EFS injects an ENI for an EFS mount target for the SageMaker domain (one
#: IP per subnet/Availability Zone attached to the SageMaker domain)". Studio (new) without
#: Classic creates no EFS volume, but the domain product creates one when Classic is enabled.
EFS_PER_SUBNET = 1
#: Seed 002: "each job needs two IP addresses per instance"; Table 1: "Five IPs per training
#: instance if EFA is used".
IPS_PER_TRAINING_INSTANCE = 2
IPS_PER_EFA_TRAINING_INSTANCE = 5
#: Seed 002: "There is a limit of four kernel gateway apps per instance type launched for
#: every user" (Studio Classic).
KERNEL_GATEWAY_APPS_PER_INSTANCE_TYPE = 4
#: Seed 002, Table 1: "Jupyter Server ... One IP per instance" (Classic's "system" instance).
CLASSIC_SYSTEM_INSTANCES = 1

SOURCE_SEED = "seed 002, VPC network planning"
SOURCE_SPACES = "one instance per running space (SpaceSettings.AppType, CreateSpace)"

#: The address the example CIDRs (and the product's default) start from.
DEFAULT_BASE_ADDRESS = "10.0.0.0"

#: Bounds of the inputs, shared by the CLI (click ranges) and :func:`plan` (ValueError).
LIMITS: dict[str, tuple[int, int]] = {
    "users": (1, 100_000),
    "apps_per_user": (1, 20),
    "instance_types": (1, 20),
    "training_instances": (0, 100),
    "shared_spaces": (0, 10_000),
    "growth_percent": (0, 1_000),
    "azs": (2, 3),
}


class PlanError(ValueError):
    """Inputs that cannot be planned: ``field`` names the input, ``allowed`` what would do."""

    def __init__(self, field_name: str, what: str, allowed: str) -> None:
        self.field = field_name
        self.what = what
        self.allowed = allowed
        super().__init__(f"{field_name}: {what}; allowed: {allowed}")


@dataclass(frozen=True)
class PlanInputs:
    """What the admin expects at the busiest moment (all people at once, as the seed does)."""

    users: int
    apps_per_user: int = 4
    instance_types: int = 2
    training_instances: int = 1
    efa: bool = False
    shared_spaces: int = 0
    growth_percent: int = 0
    azs: int = 3
    experience: Experience = "studio"


@dataclass(frozen=True)
class Line:
    """One row of the breakdown: ``count`` things of ``ips_each`` IPs, per ``unit``, times
    ``units`` (people, subnets; 1 for the shared spaces, which belong to nobody)."""

    entity: str
    level: Literal["user", "domain"]
    ips_each: int
    count: int
    unit: Literal["person", "domain", "subnet"]
    units: int
    source: str

    @property
    def ips_per_unit(self) -> int:
        return self.ips_each * self.count

    @property
    def ips(self) -> int:
        return self.ips_per_unit * self.units

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ips_per_unit": self.ips_per_unit, "ips": self.ips}


@dataclass(frozen=True)
class NetworkPlan:
    """The breakdown and the recommendation; :meth:`as_dict` is the ``--output json`` shape."""

    inputs: PlanInputs
    lines: tuple[Line, ...]
    growth_ips: int
    subnet_prefix: int
    vpc_prefix: int
    base_address: str = DEFAULT_BASE_ADDRESS

    @property
    def ips_per_user(self) -> int:
        return sum(x.ips_per_unit for x in self.lines if x.unit == "person")

    @property
    def user_ips(self) -> int:
        """Every person's and shared space's IPs (each subnet must hold them all), no growth."""
        return sum(x.ips for x in self.lines if x.level == "user")

    @property
    def domain_ips_per_subnet(self) -> int:
        return sum(x.ips_per_unit for x in self.lines if x.level == "domain")

    @property
    def domain_ips(self) -> int:
        return sum(x.ips for x in self.lines if x.level == "domain")

    @property
    def ips_per_subnet(self) -> int:
        """IPs used in one subnet at the busiest: everyone, growth and its domain share (the
        seed's "total of 511 IPs")."""
        return self.user_ips + self.growth_ips + self.domain_ips_per_subnet

    @property
    def needed_per_subnet(self) -> int:
        """Addresses one subnet must have: :attr:`ips_per_subnet` and AWS's five."""
        return self.ips_per_subnet + RESERVED_PER_SUBNET

    @property
    def subnet_ips(self) -> int:
        return 2 ** (32 - self.subnet_prefix)

    @property
    def usable_per_subnet(self) -> int:
        return self.subnet_ips - RESERVED_PER_SUBNET

    @property
    def spare_per_subnet(self) -> int:
        return self.subnet_ips - self.needed_per_subnet

    @property
    def vpc_ips(self) -> int:
        return 2 ** (32 - self.vpc_prefix)

    @property
    def vpc_cidr(self) -> str:
        return f"{self.base_address}/{self.vpc_prefix}"

    @property
    def subnet_cidrs(self) -> list[str]:
        """The subnets the studio-network product carves from :attr:`vpc_cidr` (``Fn::Cidr``
        takes them in order)."""
        subnets = ipaddress.IPv4Network(self.vpc_cidr).subnets(new_prefix=self.subnet_prefix)
        return [str(next(subnets)) for _ in range(self.inputs.azs)]

    def template_parameters(self) -> dict[str, str]:
        """The studio-network product's parameters for this plan (strings, as the console)."""
        return {
            "VpcCidr": self.vpc_cidr,
            "SubnetPrefixLength": str(self.subnet_prefix),
            "AvailabilityZoneCount": str(self.inputs.azs),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "inputs": asdict(self.inputs),
            "breakdown": [x.as_dict() for x in self.lines],
            "ips_per_user": self.ips_per_user,
            "user_ips": self.user_ips,
            "growth_ips": self.growth_ips,
            "domain_ips_per_subnet": self.domain_ips_per_subnet,
            "domain_ips": self.domain_ips,
            "ips_per_subnet": self.ips_per_subnet,
            "reserved_ips_per_subnet": RESERVED_PER_SUBNET,
            "needed_ips_per_subnet": self.needed_per_subnet,
            "subnet_prefix": self.subnet_prefix,
            "subnet_ips": self.subnet_ips,
            "usable_ips_per_subnet": self.usable_per_subnet,
            "spare_ips_per_subnet": self.spare_per_subnet,
            "vpc_prefix": self.vpc_prefix,
            "vpc_ips": self.vpc_ips,
            "example": {"vpc_cidr": self.vpc_cidr, "subnet_cidrs": self.subnet_cidrs},
            "template_parameters": self.template_parameters(),
        }


def breakdown(inputs: PlanInputs) -> tuple[Line, ...]:
    """Every row of the count, person level first (see the module docstring for each rule)."""
    person = partial(Line, level="user", unit="person", units=inputs.users)
    subnet = partial(Line, level="domain", unit="subnet", units=inputs.azs, source=SOURCE_SEED)
    rows: list[Line] = []
    if inputs.experience == "studio":
        rows.append(
            person("Studio apps, one instance each", ips_each=1, count=inputs.apps_per_user,
                   source=SOURCE_SPACES)
        )  # fmt: skip
    else:
        kernel_instances = min(inputs.instance_types, inputs.apps_per_user)
        rows += [
            person("JupyterServer system instance", ips_each=1,
                   count=CLASSIC_SYSTEM_INSTANCES, source=SOURCE_SEED),
            person("KernelGateway instances, one per instance type", ips_each=1,
                   count=kernel_instances, source=SOURCE_SEED),
        ]  # fmt: skip
    if inputs.training_instances:
        each = IPS_PER_EFA_TRAINING_INSTANCE if inputs.efa else IPS_PER_TRAINING_INSTANCE
        what = "Training/processing instances" + (" with EFA" if inputs.efa else "")
        rows.append(
            person(what, ips_each=each, count=inputs.training_instances, source=SOURCE_SEED)
        )
    if inputs.shared_spaces:
        rows.append(
            Line("Shared spaces, one instance each", level="user", ips_each=1,
                 count=inputs.shared_spaces, unit="domain", units=1, source=SOURCE_SEED)
        )  # fmt: skip
    rows += [
        subnet("EFS mount target", ips_each=1, count=EFS_PER_SUBNET),
        subnet("Interface VPC endpoints", ips_each=1, count=ENDPOINTS_PER_SUBNET),
    ]
    return tuple(rows)


def prefix_for(addresses: int) -> int:
    """The longest prefix whose block holds ``addresses`` (a /32 holds one)."""
    return 32 - max(0, math.ceil(math.log2(addresses)))


def _check(inputs: PlanInputs) -> None:
    for name, (low, high) in LIMITS.items():
        value = getattr(inputs, name)
        if not low <= value <= high:
            raise PlanError(name, f"{value} is out of range", f"{low} to {high}")
    if inputs.experience not in EXPERIENCES:
        raise PlanError("experience", f"{inputs.experience!r} is unknown", ", ".join(EXPERIENCES))
    most = KERNEL_GATEWAY_APPS_PER_INSTANCE_TYPE * inputs.instance_types
    if inputs.experience == "classic" and inputs.apps_per_user > most:
        raise PlanError(
            "apps_per_user",
            f"{inputs.apps_per_user} KernelGateway apps on {inputs.instance_types} instance "
            "type(s) cannot run in Studio Classic",
            f"at most {KERNEL_GATEWAY_APPS_PER_INSTANCE_TYPE} per instance type ({most}), or "
            "more instance types",
        )


def _sizes(lines: tuple[Line, ...], inputs: PlanInputs) -> tuple[int, int, int, int]:
    """(growth IPs, addresses one subnet needs, subnet prefix, VPC prefix)."""
    user_ips = sum(x.ips for x in lines if x.level == "user")
    growth = math.ceil(user_ips * inputs.growth_percent / 100)
    domain = sum(x.ips_per_unit for x in lines if x.level == "domain")
    needed = user_ips + growth + domain + RESERVED_PER_SUBNET
    subnet_prefix = min(SMALLEST_PREFIX, prefix_for(needed))
    # The VPC holds ``azs`` aligned subnets of that size: the next power of two of them
    # (three /22s need a /20, whose fourth /22 stays free).
    return growth, needed, subnet_prefix, subnet_prefix - math.ceil(math.log2(inputs.azs))


def plan(inputs: PlanInputs, base_address: str = DEFAULT_BASE_ADDRESS) -> NetworkPlan:
    """Size the subnets and the VPC for ``inputs``; :class:`PlanError` when they cannot fit in
    a /16 VPC, or when an input is out of its range."""
    _check(inputs)
    lines = breakdown(inputs)
    growth, needed, subnet_prefix, vpc_prefix = _sizes(lines, inputs)
    if vpc_prefix < LARGEST_PREFIX:
        raise PlanError("users", *_too_big(inputs, needed))
    try:
        ipaddress.IPv4Network(f"{base_address}/{vpc_prefix}")
    except ValueError as error:
        raise PlanError(
            "base_address",
            f"{base_address}/{vpc_prefix} is not a network ({error})",
            f"an address that starts a /{vpc_prefix} block, such as {DEFAULT_BASE_ADDRESS}",
        ) from None
    return NetworkPlan(inputs, lines, growth, subnet_prefix, vpc_prefix, base_address)


def _fits(inputs: PlanInputs) -> bool:
    return _sizes(breakdown(inputs), inputs)[3] >= LARGEST_PREFIX


def max_users(inputs: PlanInputs) -> int:
    """The most people that fit in a /16 VPC with the other inputs unchanged (0: none)."""
    low, high = 0, LIMITS["users"][1]
    while low < high:  # the count grows with the number of people: bisect
        mid = (low + high + 1) // 2
        if _fits(replace(inputs, users=mid)):
            low = mid
        else:
            high = mid - 1
    return low


def _too_big(inputs: PlanInputs, needed: int) -> tuple[str, str]:
    largest_subnet = LARGEST_PREFIX + math.ceil(math.log2(inputs.azs))
    capacity = 2 ** (32 - largest_subnet)
    most = max_users(inputs)
    what = (
        f"{inputs.users:,} users need {needed:,} addresses in each subnet; with {inputs.azs} "
        f"Availability Zones in a /{LARGEST_PREFIX} VPC (the largest) a subnet is at most "
        f"/{largest_subnet} ({capacity:,} addresses)"
    )
    allowed = (
        f"at most {most:,} users with these settings; split the people over several domains"
        if most
        else "fewer apps, training instances or shared spaces per person"
    )
    return what, allowed
