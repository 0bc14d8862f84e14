"""Portfolios as code: the schema and loader of `portfolios/*.yaml`.

    catalog = load_catalog(Path("portfolios"), "prod", Path("templates"))

Names are imported lazily so that `python -m factory.portfolio.models` (which regenerates
`portfolios/schema.json`) does not import the module twice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from factory.portfolio.loader import (
        Catalog,
        Issue,
        PortfolioConfigError,
        available_environments,
        load_catalog,
        load_environment,
    )
    from factory.portfolio.models import (
        Environment,
        LaunchRole,
        OrganizationNode,
        Portfolio,
        PortfolioFile,
        Principal,
        Product,
        ProductRef,
        Sharing,
        Support,
        TagOption,
        TemplateRule,
        VersionPolicy,
        export_json_schema,
        json_schema,
    )

__all__ = [
    "Catalog",
    "Environment",
    "Issue",
    "LaunchRole",
    "OrganizationNode",
    "Portfolio",
    "PortfolioConfigError",
    "PortfolioFile",
    "Principal",
    "Product",
    "ProductRef",
    "Sharing",
    "Support",
    "TagOption",
    "TemplateRule",
    "VersionPolicy",
    "available_environments",
    "export_json_schema",
    "json_schema",
    "load_catalog",
    "load_environment",
]

_LOADER_NAMES = frozenset(
    {
        "Catalog",
        "Issue",
        "PortfolioConfigError",
        "available_environments",
        "load_catalog",
        "load_environment",
    }
)


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = "loader" if name in _LOADER_NAMES else "models"
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


# --- personas (`factory.portfolio.personas`) --------------------------------------------------

if TYPE_CHECKING:
    from factory.portfolio.personas import (
        Persona,
        PersonasFile,
        load_personas,
        provisioning_parameters,
    )

_PERSONA_NAMES = frozenset({"Persona", "PersonasFile", "load_personas", "provisioning_parameters"})
__all__ += ["Persona", "PersonasFile", "load_personas", "provisioning_parameters"]
_getattr_models_and_loader = __getattr__


def __getattr__(name: str) -> Any:  # extends the lookup above with the persona names
    if name not in _PERSONA_NAMES:
        return _getattr_models_and_loader(name)
    value = getattr(importlib.import_module(f"{__name__}.personas"), name)
    globals()[name] = value
    return value
