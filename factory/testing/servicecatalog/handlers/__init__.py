"""Handlers by area, combined into ``ServiceCatalogBackend`` (moto's ``responses``)."""

from .base import Handler, HandlerBase, Params
from .console import ConsoleHandlers
from .constraints import ConstraintHandlers
from .portfolios import PortfolioHandlers
from .principals import PrincipalHandlers
from .products import ProductHandlers
from .provisioning import ProvisioningHandlers
from .shares import ShareHandlers
from .tagoptions import TagOptionHandlers

__all__ = [
    "ConsoleHandlers",
    "ConstraintHandlers",
    "Handler",
    "HandlerBase",
    "Params",
    "PortfolioHandlers",
    "PrincipalHandlers",
    "ProductHandlers",
    "ProvisioningHandlers",
    "ShareHandlers",
    "TagOptionHandlers",
]
