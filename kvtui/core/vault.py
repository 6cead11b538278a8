"""The vault service: the official async Key Vault clients behind plain models and
typed errors. One TLS connection pool for all three clients (FACTS.md)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.pipeline.transport import AioHttpTransport
from azure.keyvault.certificates import CertificateProperties
from azure.keyvault.certificates.aio import CertificateClient
from azure.keyvault.keys import KeyProperties
from azure.keyvault.keys.aio import KeyClient
from azure.keyvault.secrets import SecretProperties
from azure.keyvault.secrets.aio import SecretClient

from kvtui.core.errors import classify
from kvtui.core.models import Item, Kind


def item_from_secret(p: SecretProperties, with_version: bool = False) -> Item:
    return Item(
        kind=Kind.SECRETS,
        name=p.name or "",
        id=p.id or "",
        version=p.version if with_version else None,
        enabled=p.enabled is not False,
        created=p.created_on,
        updated=p.updated_on,
        not_before=p.not_before,
        expires=p.expires_on,
        tags=dict(p.tags or {}),
        content_type=p.content_type,
        managed=bool(p.managed),
        recovery_level=p.recovery_level,
        recoverable_days=p.recoverable_days,
    )


def item_from_key(p: KeyProperties, with_version: bool = False) -> Item:
    return Item(
        kind=Kind.KEYS,
        name=p.name or "",
        id=p.id or "",
        version=p.version if with_version else None,
        enabled=p.enabled is not False,
        created=p.created_on,
        updated=p.updated_on,
        not_before=p.not_before,
        expires=p.expires_on,
        tags=dict(p.tags or {}),
        managed=bool(p.managed),
        recovery_level=p.recovery_level,
        recoverable_days=p.recoverable_days,
    )


def item_from_certificate(p: CertificateProperties, with_version: bool = False) -> Item:
    x5t = p.x509_thumbprint
    return Item(
        kind=Kind.CERTIFICATES,
        name=p.name or "",
        id=p.id or "",
        version=p.version if with_version else None,
        enabled=p.enabled is not False,
        created=p.created_on,
        updated=p.updated_on,
        not_before=p.not_before,
        expires=p.expires_on,
        tags=dict(p.tags or {}),
        recovery_level=p.recovery_level,
        recoverable_days=p.recoverable_days,
        thumbprint=x5t.hex().upper() if x5t else None,
    )


class VaultService:
    """One vault, for the whole time it is open. ``await close()`` when leaving it."""

    def __init__(
        self,
        vault_url: str,
        credential: AsyncTokenCredential,
        *,
        ca_bundle: str | None = None,
        verify_challenge_resource: bool = True,
        retry_total: int = 3,
    ) -> None:
        self.vault_url = vault_url if vault_url.endswith("/") else vault_url + "/"
        ctx = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx))
        kwargs: dict[str, Any] = {
            "verify_challenge_resource": verify_challenge_resource,
            "retry_total": retry_total,
        }

        def transport() -> AioHttpTransport:
            return AioHttpTransport(session=self._session, session_owner=False)

        self.secrets = SecretClient(self.vault_url, credential, transport=transport(), **kwargs)
        self.keys = KeyClient(self.vault_url, credential, transport=transport(), **kwargs)
        self.certificates = CertificateClient(
            self.vault_url, credential, transport=transport(), **kwargs
        )

    async def close(self) -> None:
        await self.secrets.close()
        await self.keys.close()
        await self.certificates.close()
        await self._session.close()

    async def list_pages(self, kind: Kind, page_size: int = 25) -> AsyncIterator[list[Item]]:
        """The items of a kind, a page at a time, as the service sends them."""
        try:
            if kind is Kind.SECRETS:
                spager = self.secrets.list_properties_of_secrets(max_page_size=page_size)
                async for spage in spager.by_page():
                    yield [item_from_secret(p) async for p in spage]
            elif kind is Kind.KEYS:
                kpager = self.keys.list_properties_of_keys(max_page_size=page_size)
                async for kpage in kpager.by_page():
                    yield [item_from_key(p) async for p in kpage]
            else:
                cpager = self.certificates.list_properties_of_certificates(max_page_size=page_size)
                async for cpage in cpager.by_page():
                    yield [item_from_certificate(p) async for p in cpage]
        except Exception as exc:
            raise classify(exc, what=f"Listing {kind.value}") from exc

    async def list_versions(self, kind: Kind, name: str) -> list[Item]:
        try:
            if kind is Kind.SECRETS:
                return [
                    item_from_secret(p, True)
                    async for p in self.secrets.list_properties_of_secret_versions(name)
                ]
            if kind is Kind.KEYS:
                return [
                    item_from_key(p, True)
                    async for p in self.keys.list_properties_of_key_versions(name)
                ]
            return [
                item_from_certificate(p, True)
                async for p in self.certificates.list_properties_of_certificate_versions(name)
            ]
        except Exception as exc:
            raise classify(exc, what=f"Listing the versions of {name}") from exc

    async def get_secret_value(self, name: str, version: str | None = None) -> str:
        """The value, fetched on demand; never cached or logged here."""
        try:
            secret = await self.secrets.get_secret(name, version)
        except Exception as exc:
            raise classify(exc, what=f"Reading {name}") from exc
        return secret.value or ""
