"""Calling the API over HTTP (in-process ASGI) as a client would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import hash_api_token, issue_user_jwt, new_api_token
from app.config import Settings
from app.db.tables import ApiToken, PortalUser
from app.domain.enums import TokenKind


@dataclass
class Api:
    client: httpx.AsyncClient

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def query(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.post(query, variables, token)
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body = await self.query(query, variables, token)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


def user_token(settings: Settings, user: PortalUser) -> str:
    return issue_user_jwt(settings, user.external_id, datetime.now(UTC))


async def api_token(db: AsyncSession, kind: TokenKind, partner_id: int | None = None) -> str:
    token = new_api_token()
    db.add(
        ApiToken(
            kind=kind,
            name=f"{kind.value.title()} token",
            token_hash=hash_api_token(token),
            partner_id=partner_id,
        )
    )
    await db.flush()
    return token
