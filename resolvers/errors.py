"""Errors the client may see, each with `extensions.code`; everything else is masked."""

from __future__ import annotations

from collections.abc import Collection

from graphql import GraphQLError, Node

from app.domain.errors import ErrorCode


class PublicError(GraphQLError):
    def __init__(
        self, code: ErrorCode, message: str, nodes: Collection[Node] | Node | None = None
    ) -> None:
        super().__init__(message, nodes, extensions={"code": code.value})
        self.code = code


def unauthenticated() -> PublicError:
    return PublicError(ErrorCode.UNAUTHENTICATED, "Sign in to see this.")


def forbidden() -> PublicError:
    return PublicError(ErrorCode.FORBIDDEN, "You are not allowed to do this.")


def no_membership() -> PublicError:
    """A signed-in customer user who belongs to no customer (never seen before, or removed
    from every customer) asked for something only members may do."""
    return PublicError(
        ErrorCode.NO_CUSTOMER_MEMBERSHIP,
        "You are signed in but belong to no customer yet: start with a first purchase "
        "(`orderQuote` with `newCustomer`), or ask a customer's owner to invite you.",
    )


def invalid(message: str) -> PublicError:
    return PublicError(ErrorCode.VALIDATION, message)


def provider_unavailable(what: str) -> PublicError:
    return PublicError(
        ErrorCode.PROVIDER_UNAVAILABLE, f"{what} is unavailable right now; try again later."
    )


def is_public(error: GraphQLError) -> bool:
    """Validation and parse errors have no original error; our own errors are PublicError."""
    original = error.original_error
    return original is None or isinstance(original, PublicError)
