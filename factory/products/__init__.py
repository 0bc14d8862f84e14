"""Product generators: one module per Service Catalog product.

Each module exposes ``NAME`` (the template's file stem in ``templates/``) and
``generate(options) -> troposphere.Template``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from troposphere import Template

from factory.products import (
    domain,
    lifecycle_configs,
    shared_space,
    studio_network,
    team_role,
    user_profile,
)

Generator = Callable[[dict[str, Any] | None], Template]

PRODUCTS: dict[str, Generator] = {
    domain.NAME: domain.generate,
    user_profile.NAME: user_profile.generate,
    shared_space.NAME: shared_space.generate,
    lifecycle_configs.NAME: lifecycle_configs.generate,
    team_role.NAME: team_role.generate,
    studio_network.NAME: studio_network.generate,
}
