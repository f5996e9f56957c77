"""The wire shape of a provision call, after GitLab's internal API
`POST /api/v4/internal/gitlab_subscriptions/namespaces/:id/provision` (the call its
subscription portal makes): a `provision` object with `base_product`, `compute_minutes`,
`storage` and `add_on_purchases` sections.

A deployment ref that is a uuid is a self-managed instance: it goes to `instances/:uuid`
(our receiver's path; GitLab itself entitles an instance through its license) with what fits
an instance, the base product and add-ons, since compute minutes and storage exist on
GitLab.com only. Any other ref is a namespace id (or its full path, as GitLab accepts).

The body is the deployment's whole entitlement: an add-on absent from `add_on_purchases` is
no longer entitled. Storage travels in MiB, as GitLab stores it. Each add-on entry also
carries `assigned_user_ids` (our addition: GitLab keeps its own user add-on assignments),
the user ids holding its seats, so the product's seat list follows the portal's.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from urllib.parse import quote

from app.providers import _checks as checks
from app.providers.provisioning.records import Entitlement

PREFIX = "/api/v4/internal/gitlab_subscriptions"
MIB_PER_GIB = 1024
SECTIONS = ("base_product", "compute_minutes", "storage", "add_on_purchases")


def is_instance(deployment_ref: str) -> bool:
    try:
        uuid.UUID(deployment_ref)
    except ValueError:
        return False
    return True


def provision_path(deployment_ref: str) -> str:
    """One path segment per ref. A ref `.` or `..` is refused: the URL would drop it as a
    dot segment and send the signed request (the signature covers the body only) to
    another path of the receiver."""
    if deployment_ref in {".", ".."}:
        raise checks.invalid(f"deployment_ref {deployment_ref!r} is not a namespace or instance")
    kind = "instances" if is_instance(deployment_ref) else "namespaces"
    return f"{PREFIX}/{kind}/{quote(deployment_ref, safe='')}/provision"


def provision_body(entitlement: Entitlement) -> dict[str, Any]:
    start, end = entitlement.term_start.isoformat(), entitlement.term_end.isoformat()
    provision: dict[str, Any] = {
        "base_product": {
            "plan_code": entitlement.plan_code,
            "start_date": start,
            "end_date": end,
            "seats": entitlement.seats,
        },
    }
    if not is_instance(entitlement.deployment_ref):
        provision["compute_minutes"] = {
            "extra_shared_runners_minutes_limit": entitlement.compute_minutes
        }
        provision["storage"] = {
            "additional_purchased_storage_size": entitlement.storage_gib * MIB_PER_GIB,
            "additional_purchased_storage_ends_on": end,
        }
    provision["add_on_purchases"] = {
        code: [
            {
                "started_on": start,
                "expires_on": end,
                "quantity": quantity,
                "trial": False,
                "assigned_user_ids": list(entitlement.holders_of(code)),
            }
        ]
        for code, quantity in entitlement.add_ons
    }
    return {"provision": provision}


def entitlement_from(deployment_ref: str, body: Any) -> Entitlement:
    """The entitlement a provision body grants (the inverse of `provision_body`); raises
    KeyError, TypeError or ValueError for a body of another shape."""
    provision = body["provision"]
    base = provision["base_product"]
    storage = provision.get("storage") or {}
    minutes = provision.get("compute_minutes") or {}
    add_ons = provision.get("add_on_purchases") or {}
    return Entitlement(
        deployment_ref=deployment_ref,
        plan_code=str(base["plan_code"]),
        seats=_count(base["seats"]),
        term_start=date.fromisoformat(base["start_date"]),
        term_end=date.fromisoformat(base["end_date"]),
        add_ons=tuple(
            (str(code), _count(entries[-1]["quantity"])) for code, entries in add_ons.items()
        ),
        compute_minutes=_count(minutes.get("extra_shared_runners_minutes_limit", 0)),
        storage_gib=_count(storage.get("additional_purchased_storage_size", 0)) // MIB_PER_GIB,
        add_on_holders=tuple(
            (str(code), _user_ids(entries[-1].get("assigned_user_ids", [])))
            for code, entries in add_ons.items()
        ),
    )


def _user_ids(value: Any) -> tuple[str, ...]:
    if type(value) is not list or not all(type(each) is str for each in value):
        raise TypeError(f"expected a list of user ids, got {value!r}")
    return tuple(value)


def _count(value: Any) -> int:
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {value!r}")
    return value
