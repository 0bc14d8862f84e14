"""Portfolio shares: accounts and organization nodes."""

from __future__ import annotations

from typing import Any

from ..errors import ServiceCatalogError, _bad_state, _invalid, _not_found
from ..render import _compact, _paginate
from ..rules import _ACCOUNT_ID, _ORG_NODE, _SHARE_TYPE_FOR_NODE
from ..state import ACCOUNT_ID, Portfolio, RegionState, Share, ShareAction, _new_id
from .base import HandlerBase, Params


class ShareHandlers(HandlerBase):
    """Portfolio shares: accounts and organization nodes."""

    def _share_target(self, st: RegionState, p: Params) -> tuple[Portfolio, Share]:
        """Validate a share request and return the portfolio and the share it describes."""
        pf = st.portfolio(p["PortfolioId"])
        busy = self._share_in_progress(st, pf.id)
        if busy is not None:
            raise _bad_state(
                f"Share action {busy.token} on portfolio {pf.id} is still IN_PROGRESS."
            )
        account, node = p.get("AccountId"), p.get("OrganizationNode")
        if (account is None) == (node is None):
            raise _invalid("Specify exactly one of AccountId or OrganizationNode.")
        if account is not None:
            if not _ACCOUNT_ID.match(account) or account == ACCOUNT_ID:
                raise _invalid(f"{account} is not a valid account to share with.")
            if p.get("SharePrincipals"):
                raise _invalid("SharePrincipals is only supported for organization-node shares.")
            share = Share("ACCOUNT", account, bool(p.get("ShareTagOptions")))
            return pf, share
        self._check_organization_access("Shares to an organization node")
        node_type, value = node.get("Type"), node.get("Value", "")
        if node_type not in _ORG_NODE or not _ORG_NODE[node_type].match(value):
            raise _invalid(f"Invalid organization node {node_type}={value!r}.")
        if p.get("SharePrincipals") and node_type == "ACCOUNT":
            raise _invalid("SharePrincipals is only supported for ORGANIZATION and OU shares.")
        share = Share(
            _SHARE_TYPE_FOR_NODE[node_type],
            value,
            bool(p.get("ShareTagOptions")),
            bool(p.get("SharePrincipals")),
        )
        return pf, share

    def _start_share_action(self, st: RegionState, pf: Portfolio, share: Share) -> ShareAction:
        action = ShareAction(
            token=_new_id("share-"),
            portfolio_id=pf.id,
            node_value=share.principal_id,
            polls_left=self.share_polls_before_complete,
        )
        st.share_actions[action.token] = action
        return action

    def _create_portfolio_share(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf, share = self._share_target(st, p)
        key = (share.type, share.principal_id)
        if key not in pf.shares:
            pf.shares[key] = share
        if share.type == "ACCOUNT":
            return {}
        return {"PortfolioShareToken": self._start_share_action(st, pf, share).token}

    def _update_portfolio_share(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf, share = self._share_target(st, p)
        current = pf.shares.get((share.type, share.principal_id))
        if current is None:
            raise _not_found(f"Portfolio {pf.id} is not shared with {share.principal_id}.")
        if "ShareTagOptions" in p:
            current.share_tag_options = share.share_tag_options
        if "SharePrincipals" in p:
            current.share_principals = share.share_principals
        if share.type == "ACCOUNT":
            return {"Status": "COMPLETED"}
        action = self._start_share_action(st, pf, share)
        return {"PortfolioShareToken": action.token, "Status": action.status}

    def _delete_portfolio_share(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf, share = self._share_target(st, p)
        if pf.shares.pop((share.type, share.principal_id), None) is None:
            raise _not_found(f"Portfolio {pf.id} is not shared with {share.principal_id}.")
        if share.type == "ACCOUNT":
            return {}
        return {"PortfolioShareToken": self._start_share_action(st, pf, share).token}

    def _describe_portfolio_shares(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        shares = [s for s in pf.shares.values() if s.type == p["Type"]]
        page, token = _paginate(shares, p)
        details = [
            {
                "PrincipalId": s.principal_id,
                "Type": s.type,
                "Accepted": s.accepted,
                "ShareTagOptions": s.share_tag_options,
                "SharePrincipals": s.share_principals,
            }
            for s in page
        ]
        return _compact(PortfolioShareDetails=details, NextPageToken=token)

    def _describe_portfolio_share_status(self, st: RegionState, p: Params) -> dict[str, Any]:
        self._check_organization_access("DescribePortfolioShareStatus")
        action = st.share_actions.get(p["PortfolioShareToken"])
        if action is None:
            raise _not_found(f"Portfolio share token {p['PortfolioShareToken']} not found.")
        if action.status == "IN_PROGRESS":
            if action.polls_left > 0:
                action.polls_left -= 1
            elif action.node_value in self.realism.failing_share_nodes:
                action.status = "COMPLETED_WITH_ERRORS"
            else:
                action.status = "COMPLETED"
        return _compact(
            PortfolioShareToken=action.token,
            PortfolioId=action.portfolio_id,
            OrganizationNodeValue=action.node_value,
            Status=action.status,
            ShareDetails=_share_details(action),
        )

    def _check_organization_access(self, what: str) -> None:
        """Organization shares need the management or a delegated-admin account with
        AWSOrganizationsAccess enabled (API reference, CreatePortfolioShare and
        DescribePortfolioShareStatus). The exact error is undocumented; botocore's model lists
        OperationNotSupportedException for both operations.
        """
        realism = self.realism
        if realism.organization_role not in ("management", "delegated_admin"):
            raise ServiceCatalogError(
                "OperationNotSupportedException",
                f"{what} can only be used by the management account of an organization or by a "
                f"delegated administrator (this account: {realism.organization_role}).",
            )
        if not realism.organizations_access:
            raise ServiceCatalogError(
                "OperationNotSupportedException",
                f"{what} needs AWSOrganizationsAccess: call EnableAWSOrganizationsAccess from "
                "the management account.",
            )

    def _get_organizations_access_status(self, st: RegionState, p: Params) -> dict[str, Any]:
        """API reference, GetAWSOrganizationsAccessStatus: management or delegated admin only."""
        if self.realism.organization_role not in ("management", "delegated_admin"):
            raise ServiceCatalogError(
                "OperationNotSupportedException",
                "GetAWSOrganizationsAccessStatus can only be called by the management account "
                "or by a delegated administrator.",
            )
        return {"AccessStatus": "ENABLED" if self.realism.organizations_access else "DISABLED"}

    def _enable_organizations_access(self, st: RegionState, p: Params) -> dict[str, Any]:
        """API reference, EnableAWSOrganizationsAccess: "can only be called by the management
        account in the organization"."""
        if self.realism.organization_role != "management":
            raise ServiceCatalogError(
                "OperationNotSupportedException",
                "EnableAWSOrganizationsAccess can only be called by the management account.",
            )
        self.realism = self.realism.replace(organizations_access=True)
        return {}

    def _list_portfolio_access(self, st: RegionState, p: Params) -> dict[str, Any]:
        pf = st.portfolio(p["PortfolioId"])
        accounts = [
            s.principal_id
            for s in pf.shares.values()
            if s.type in ("ACCOUNT", "ORGANIZATION_MEMBER_ACCOUNT")
        ]
        page, token = _paginate(accounts, p)
        return _compact(AccountIds=page, NextPageToken=token)


def _share_details(action: ShareAction) -> dict[str, Any] | None:
    """ShareDetails once the share has finished; failing nodes report one ShareError."""
    if action.status == "COMPLETED":
        return {"SuccessfulShares": [action.node_value], "ShareErrors": []}
    if action.status == "COMPLETED_WITH_ERRORS":
        error = {
            "Accounts": ["210987654321"],
            "Message": f"Portfolio could not be shared with an account under {action.node_value}.",
            "Error": "AccessDeniedException",
        }
        return {"SuccessfulShares": [], "ShareErrors": [error]}
    return None
