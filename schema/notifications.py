"""In-app notifications: a customer user's own, listed on `viewer` and marked read."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.db import tables
from app.domain.errors import DomainError
from resolvers import notifications as resolve
from resolvers.ids import DEFAULT_PAGE_SIZE, to_global_id
from schema import described
from schema.common import Connection, Node
from schema.enums import NotificationKind
from schema.errors import NotFoundError, ValidationError, result_union, user_error


@strawberry.type(description="Something the billing contacts of a customer should know.")
class Notification(Node):
    kind: NotificationKind
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None
    subscription_id: strawberry.ID | None = strawberry.field(
        description="The subscription it is about, when it is about one."
    )

    @classmethod
    def from_row(cls, row: tables.Notification) -> Notification:
        assert row.id is not None
        about = row.subscription_id
        return cls(
            id=strawberry.ID(to_global_id("Notification", row.id)),
            kind=row.kind,
            title=row.title,
            body=row.body,
            created_at=row.created_at,
            read_at=row.read_at,
            subscription_id=None
            if about is None
            else strawberry.ID(to_global_id("Subscription", about)),
        )


@strawberry.type
class ViewerNotifications:
    """Mixed into `Viewer`."""

    @described.field(description="The caller's notifications, newest first.")
    async def notifications(
        self,
        info: strawberry.Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        unread_only: bool = False,
    ) -> Connection[Notification]:
        page = await resolve.list_page(info.context, first, after, unread_only=unread_only)
        return Connection.build(page, page.items, Notification.from_row)

    @described.field(description="How many of the caller's notifications are unread.")
    async def unread_notification_count(self, info: strawberry.Info) -> int:
        return await resolve.unread_count(info.context)


@strawberry.type
class NotificationsMarkReadPayload:
    marked: int = strawberry.field(description="How many were unread and are read now.")
    unread_count: int


NotificationsMarkReadResult = result_union(
    "NotificationsMarkReadResult", NotificationsMarkReadPayload, ValidationError, NotFoundError
)


@strawberry.type
class NotificationMutations:
    @described.mutation(
        description="Mark the caller's notifications read: the given ids (at most 100; all "
        "must be the caller's, or nothing changes), or every unread one when `ids` is omitted."
    )
    async def notifications_mark_read(
        self, info: strawberry.Info, ids: list[strawberry.ID] | None = None
    ) -> NotificationsMarkReadResult:  # type: ignore[valid-type]
        marked = await resolve.mark_read(
            info.context, None if ids is None else [str(i) for i in ids]
        )
        if isinstance(marked, DomainError):
            return user_error(marked)
        return NotificationsMarkReadPayload(
            marked=marked, unread_count=await resolve.unread_count(info.context)
        )
