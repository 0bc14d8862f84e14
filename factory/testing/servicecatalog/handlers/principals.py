"""Principals (IAM, IAM_PATTERN) of a portfolio."""

from __future__ import annotations

from typing import Any

from ..errors import _limit, _not_found
from ..render import _compact, _paginate
from ..rules import _validate_principal
from ..state import RegionState
from .base import HandlerBase, Params


class PrincipalHandlers(HandlerBase):
    """Principals (IAM, IAM_PATTERN) of a portfolio."""

    def _associate_principal(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        arn, principal_type = p["PrincipalARN"], p["PrincipalType"]
        _validate_principal(arn, principal_type)
        if pf.principals.get(arn) == principal_type:
            return {}
        if len(pf.principals) >= self.limits.principals_per_portfolio:
            raise _limit(
                f"At most {self.limits.principals_per_portfolio} principals per portfolio."
            )
        patterns = sum(t == "IAM_PATTERN" for t in pf.principals.values())
        cap = self.limits.iam_pattern_principals_per_portfolio
        if principal_type == "IAM_PATTERN" and patterns >= cap:
            raise _limit(f"At most {cap} IAM_PATTERN principals per portfolio.")
        pf.principals[arn] = principal_type
        return {}

    def _disassociate_principal(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        arn = p["PrincipalARN"]
        if pf.principals.get(arn) != p.get("PrincipalType", "IAM"):
            raise _not_found(f"Principal {arn} is not associated with {pf.id}.")
        del pf.principals[arn]
        return {}

    def _list_principals(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        page, token = _paginate(list(pf.principals.items()), p)
        principals = [{"PrincipalARN": arn, "PrincipalType": kind} for arn, kind in page]
        return _compact(Principals=principals, NextPageToken=token)
