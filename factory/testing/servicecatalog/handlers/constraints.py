"""Constraints on a portfolio-product pair."""

from __future__ import annotations

from typing import Any

from ..errors import _duplicate, _invalid, _not_found
from ..render import _compact, _constraint_detail, _constraint_response, _paginate
from ..rules import _validate_constraint_parameters
from ..state import Constraint, RegionState, _new_id
from .base import HandlerBase, Params


class ConstraintHandlers(HandlerBase):
    """Constraints on a portfolio-product pair."""

    def _create_constraint(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        product = st.product(p["ProductId"])
        if product.id not in pf.products:
            raise _not_found(f"Product {product.id} is not associated with portfolio {pf.id}.")
        constraint_type = p["Type"]
        _validate_constraint_parameters(constraint_type, p["Parameters"])
        existing = {c.type for c in st.constraints_for(pf.id, product.id)}
        if constraint_type in ("LAUNCH", "STACKSET") and constraint_type in existing:
            raise _duplicate(f"A {constraint_type} constraint already exists for this product.")
        if {constraint_type} | existing >= {"LAUNCH", "STACKSET"}:
            raise _invalid("A product cannot have both a LAUNCH and a STACKSET constraint.")
        constraint = Constraint(
            id=_new_id("cons-"),
            type=constraint_type,
            portfolio_id=pf.id,
            product_id=product.id,
            parameters=p["Parameters"],
            description=p.get("Description"),
            available_at=self._available_at(),
        )
        st.constraints[constraint.id] = constraint
        return _constraint_response(constraint, self._status(constraint.available_at))

    def _describe_constraint(self, st: RegionState, p: Params) -> dict[str, Any]:
        constraint = st.constraint(p["Id"])
        return _constraint_response(constraint, self._status(constraint.available_at))

    def _update_constraint(self, st: RegionState, p: Params) -> dict[str, Any]:
        constraint = st.constraint(p["Id"])
        if "Parameters" in p:
            _validate_constraint_parameters(constraint.type, p["Parameters"])
            constraint.parameters = p["Parameters"]
        constraint.description = p.get("Description", constraint.description)
        return _constraint_response(constraint, self._status(constraint.available_at))

    def _delete_constraint(self, st: RegionState, p: Params) -> dict[str, Any]:
        del st.constraints[st.constraint(p["Id"]).id]
        return {}

    def _list_constraints_for_portfolio(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        constraints = [
            c for c in st.constraints_for(pf.id, p.get("ProductId")) if self._listed(st, c.id)
        ]
        page, token = _paginate(constraints, p)
        return _compact(
            ConstraintDetails=[_constraint_detail(c) for c in page], NextPageToken=token
        )
