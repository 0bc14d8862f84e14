"""AWS-style errors the stand-in raises (moto's ``exceptions.py``)."""

from __future__ import annotations

from typing import Any


class ServiceCatalogError(Exception):
    """An AWS-style error: serialised as ``{"__type": code, "Message": message}``."""

    def __init__(self, code: str, message: str = "", status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        return {"__type": self.code, "Message": self.message}


class ShapeMismatchError(AssertionError):
    """A response does not conform to the operation's output shape (a stand-in bug)."""


def _get(table: dict[str, Any], key: str, kind: str) -> Any:
    """``table[key]``, or the ResourceNotFoundException the service answers."""
    try:
        return table[key]
    except KeyError:
        raise _not_found(f"{kind} {key} not found.") from None


def _not_found(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("ResourceNotFoundException", message)


def _invalid(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("InvalidParametersException", message)


def _duplicate(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("DuplicateResourceException", message)


def _limit(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("LimitExceededException", message)


def _in_use(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("ResourceInUseException", message)


def _bad_state(message: str) -> ServiceCatalogError:
    return ServiceCatalogError("InvalidStateException", message)
