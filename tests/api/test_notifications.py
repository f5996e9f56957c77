"""`viewer.notifications`, `unreadNotificationCount` and `notificationsMarkRead`: each user
sees and changes only their own; a refused call changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.db.tables import Customer, Membership, Notification
from app.domain.enums import MemberRole, NotificationKind, TokenKind
from app.services import notifications
from resolvers.ids import to_global_id
from tests.support import factories as f
from tests.support.graphql import Api, api_token, user_token

LIST = """query($unread: Boolean!) { viewer {
  unreadNotificationCount
  notifications(first: 10, unreadOnly: $unread) { nodes { id kind title readAt subscriptionId } }
} }"""
MARK = """mutation($ids: [ID!]) { notificationsMarkRead(ids: $ids) {
  __typename ... on NotificationsMarkReadPayload { marked unreadCount }
  ... on UserError { code message } } }"""
START = datetime(2026, 5, 1, tzinfo=UTC)


async def _notify(db: AsyncSession, customer: Customer, n: int) -> None:
    await notifications.notify(
        db,
        customer_id=customer.id or 0,
        kind=NotificationKind.RENEWAL_REMINDER,
        title=f"Notice {n}",
        body="...",
        dedupe_key=f"notice:{n}",
        now=START + timedelta(days=n),
    )


async def _world(db: AsyncSession, settings: Settings) -> tuple[dict[str, str], list[int]]:
    customer = await f.customer(db)
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    admin = await f.user(db, member_of=customer, role=MemberRole.BILLING_ADMIN)
    for n in (1, 2, 3):
        await _notify(db, customer, n)
    await db.flush()
    owned = await db.scalars(
        sa.select(col(Notification.id))
        .where(col(Notification.user_id) == owner.id)
        .order_by(col(Notification.id).desc())
    )
    tokens = {"owner": user_token(settings, owner), "admin": user_token(settings, admin)}
    return tokens, [pk for pk in owned if pk is not None]


def _gid(pk: int) -> str:
    return to_global_id("Notification", pk)


async def _read_state(db: AsyncSession) -> list[tuple[int, datetime | None]]:
    rows = await db.execute(
        sa.select(col(Notification.id), col(Notification.read_at))
        .order_by(col(Notification.id))
        .execution_options(populate_existing=True)
    )
    return [(pk, read_at) for pk, read_at in rows.all()]


async def test_a_user_lists_their_own_newest_first(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    tokens, owned = await _world(db, settings)

    data = await api.data(LIST, {"unread": False}, token=tokens["owner"])

    viewer = data["viewer"]
    assert viewer["unreadNotificationCount"] == 3
    assert [n["id"] for n in viewer["notifications"]["nodes"]] == [_gid(pk) for pk in owned]
    assert [n["title"] for n in viewer["notifications"]["nodes"]] == [
        "Notice 3",
        "Notice 2",
        "Notice 1",
    ]


async def test_marking_some_read(api: Api, db: AsyncSession, settings: Settings) -> None:
    tokens, owned = await _world(db, settings)

    data = await api.data(MARK, {"ids": [_gid(owned[0])]}, token=tokens["owner"])

    assert data["notificationsMarkRead"] == {
        "__typename": "NotificationsMarkReadPayload",
        "marked": 1,
        "unreadCount": 2,
    }
    unread = await api.data(LIST, {"unread": True}, token=tokens["owner"])
    assert [n["id"] for n in unread["viewer"]["notifications"]["nodes"]] == [
        _gid(pk) for pk in owned[1:]
    ]
    again = await api.data(MARK, {"ids": [_gid(owned[0])]}, token=tokens["owner"])
    assert again["notificationsMarkRead"]["marked"] == 0  # already read


async def test_marking_all_leaves_the_other_users_copies_unread(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    tokens, _ = await _world(db, settings)

    data = await api.data(MARK, {"ids": None}, token=tokens["owner"])

    assert data["notificationsMarkRead"]["marked"] == 3
    other = await api.data(LIST, {"unread": True}, token=tokens["admin"])
    assert other["viewer"]["unreadNotificationCount"] == 3


async def test_another_users_id_is_not_found_and_nothing_changes(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    tokens, owned = await _world(db, settings)
    before = await _read_state(db)

    data = await api.data(MARK, {"ids": [_gid(owned[0])]}, token=tokens["admin"])
    mixed = await api.data(MARK, {"ids": [_gid(owned[1]), "bm90LWFuLWlk"]}, token=tokens["owner"])

    assert data["notificationsMarkRead"]["code"] == "NOT_FOUND"
    assert mixed["notificationsMarkRead"]["code"] == "NOT_FOUND"
    assert await _read_state(db) == before


async def test_too_many_ids_is_a_validation_error(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    tokens, owned = await _world(db, settings)

    data = await api.data(MARK, {"ids": [_gid(owned[0])] * 101}, token=tokens["owner"])

    assert data["notificationsMarkRead"]["code"] == "VALIDATION"


async def test_other_principals_have_no_notifications(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    await _world(db, settings)
    admin = await api_token(db, TokenKind.ADMIN)

    data = await api.data(LIST, {"unread": False}, token=admin)

    assert data["viewer"]["unreadNotificationCount"] == 0
    assert data["viewer"]["notifications"]["nodes"] == []


async def test_a_removed_contact_no_longer_reads_or_marks_them(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    tokens, owned = await _world(db, settings)
    owner_id = await db.scalar(
        sa.select(col(Notification.user_id)).where(col(Notification.id) == owned[0])
    )
    await db.execute(sa.delete(Membership).where(col(Membership.user_id) == owner_id))

    listed = await api.data(LIST, {"unread": False}, token=tokens["owner"])
    marked = await api.data(MARK, {"ids": [_gid(owned[0])]}, token=tokens["owner"])

    assert listed["viewer"]["unreadNotificationCount"] == 0
    assert listed["viewer"]["notifications"]["nodes"] == []
    assert marked["notificationsMarkRead"]["code"] == "NOT_FOUND"
