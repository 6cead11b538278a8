"""The vault service: the official async Key Vault clients behind plain models and
typed errors. One TLS connection pool for all three clients (docs/facts.md)."""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from typing import Any

import aiohttp
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import AsyncRetryPolicy, SansIOHTTPPolicy
from azure.core.pipeline.transport import AioHttpTransport
from azure.keyvault.certificates import (
    CertificateProperties,
    DeletedCertificate,
    KeyVaultCertificate,
)
from azure.keyvault.certificates.aio import CertificateClient
from azure.keyvault.keys import DeletedKey, KeyProperties, KeyVaultKey
from azure.keyvault.keys.aio import KeyClient
from azure.keyvault.secrets import DeletedSecret, SecretProperties
from azure.keyvault.secrets.aio import SecretClient

from kvtui.core.clouds import Cloud
from kvtui.core.convert import item_from_certificate, item_from_key, item_from_secret
from kvtui.core.details import (
    b64url,
    cer_to_pem,
    describe_certificate,
    iso_duration_text,
    jwk_public_pem,
    lifetime_action_text,
    rotation_action_text,
)
from kvtui.core.errors import NotFound, VaultError, classify, retrying_cannot_help
from kvtui.core.models import (
    CertificateDetail,
    CertificatePolicySummary,
    DeletedItem,
    Item,
    KeyDetail,
    Kind,
    RotationPolicySummary,
    SecretDetail,
)
from kvtui.core.throttle import ThrottleCallback, ThrottleReportPolicy

PropertiesOf = SecretProperties | KeyProperties | CertificateProperties

log = logging.getLogger(__name__)


class RetryPolicy(AsyncRetryPolicy):  # type: ignore[type-arg]
    """The SDK's retries, minus those that cannot help (an untrusted certificate, a
    vault name that does not exist): the message comes at once, not after 5 s of
    backoff."""

    def increment(self, settings: Any, response: Any = None, error: Any = None) -> bool:
        if error is not None and retrying_cannot_help(error):
            return False
        return bool(super().increment(settings, response=response, error=error))


class AnswerReportPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Calls ``callback()`` once, at the first 2xx response: the vault exists, answers
    over TLS and accepts this sign-in (what makes it worth remembering as recent)."""

    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__()
        self._callback: Callable[[], None] | None = callback

    def on_response(self, request: PipelineRequest, response: PipelineResponse) -> None:  # type: ignore[type-arg]
        callback = self._callback
        if callback is None or not 200 <= response.http_response.status_code < 300:
            return
        self._callback = None
        try:
            callback()
        except Exception:  # a broken callback must not break the request
            log.exception("answer callback failed")


def deleted_item(
    kind: Kind, deleted: DeletedSecret | DeletedKey | DeletedCertificate
) -> DeletedItem:
    """A deleted object of the SDK as plain data (the certificate's time has its own name)."""
    props: Any = deleted.properties
    if kind is Kind.SECRETS:
        item = item_from_secret(props)
    elif kind is Kind.KEYS:
        item = item_from_key(props)
    else:
        item = item_from_certificate(props)
    when = getattr(deleted, "deleted_on", None) or getattr(deleted, "deleted_date", None)
    item.deleted = when
    item.purge_scheduled = deleted.scheduled_purge_date
    item.recovery_id = deleted.recovery_id
    return DeletedItem(item, deleted.recovery_id, when, deleted.scheduled_purge_date)


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
        on_throttle: ThrottleCallback | None = None,
        cloud: Cloud | None = None,
        on_answer: Callable[[], None] | None = None,
        connect_timeout: float = 20.0,
    ) -> None:
        """``on_throttle(retry_after_seconds, url)`` is called (on the event loop) for
        every 429 the vault answers, before the SDK waits and retries: the screen can
        say "the vault is throttling, waiting N s". ``cloud`` words a vault name that
        does not exist ("no vault named X in Azure public cloud"). ``on_answer()`` is
        called once, at the vault's first successful (2xx) answer. ``connect_timeout``
        bounds a connection (TLS included) that gets no answer: azure-core waits 300 s."""
        self.vault_url = vault_url if vault_url.endswith("/") else vault_url + "/"
        self.cloud = cloud
        self.read_only_rule: str | None = None
        """Why the vault is read-only (kvtui/core/readonly.py), or None: every write
        (kvtui/core/writes.py) is refused before it is sent. Set by the session."""
        ctx = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx))
        kwargs: dict[str, Any] = {
            "verify_challenge_resource": verify_challenge_resource,
            "retry_total": retry_total,
            "retry_policy": RetryPolicy(retry_total=retry_total),
        }
        if on_throttle is not None:
            kwargs["per_retry_policies"] = [ThrottleReportPolicy(on_throttle)]
        if on_answer is not None:
            kwargs["per_call_policies"] = [AnswerReportPolicy(on_answer)]

        def transport() -> AioHttpTransport:
            return AioHttpTransport(
                session=self._session, session_owner=False, connection_timeout=connect_timeout
            )

        self.secrets = SecretClient(self.vault_url, credential, transport=transport(), **kwargs)
        self.keys = KeyClient(self.vault_url, credential, transport=transport(), **kwargs)
        self.certificates = CertificateClient(
            self.vault_url, credential, transport=transport(), **kwargs
        )

    def classify(self, exc: BaseException, *, what: str) -> VaultError:
        """The typed error for ``exc``, worded for this vault (its URL, its cloud)."""
        return classify(exc, what=what, url=self.vault_url, cloud=self.cloud)

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
            raise self.classify(exc, what=f"Listing {kind.value}") from exc

    async def list_deleted_pages(
        self, kind: Kind, page_size: int = 25
    ) -> AsyncIterator[list[DeletedItem]]:
        """The deleted items of a kind, a page at a time (a read: read-only allows it)."""
        try:
            if kind is Kind.SECRETS:
                pager: Any = self.secrets.list_deleted_secrets(max_page_size=page_size)
            elif kind is Kind.KEYS:
                pager = self.keys.list_deleted_keys(max_page_size=page_size)
            else:
                pager = self.certificates.list_deleted_certificates(max_page_size=page_size)
            async for page in pager.by_page():
                yield [deleted_item(kind, d) async for d in page]
        except Exception as exc:
            raise self.classify(exc, what=f"Listing the deleted {kind.value}") from exc

    async def list_versions(self, kind: Kind, name: str) -> list[Item]:
        """Every version of an item, newest first."""
        items = await self._list_versions(kind, name)
        epoch = datetime.min.replace(tzinfo=timezone.utc)
        items.sort(key=lambda i: i.created or epoch, reverse=True)
        return items

    async def _list_versions(self, kind: Kind, name: str) -> list[Item]:
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
            raise self.classify(exc, what=f"Listing the versions of {name}") from exc

    async def get_secret_value(self, name: str, version: str | None = None) -> str:
        """The value, fetched on demand; never cached or logged here."""
        try:
            secret = await self.secrets.get_secret(name, version)
        except Exception as exc:
            raise self.classify(exc, what=f"Reading {name}") from exc
        return secret.value or ""

    # -- details ------------------------------------------------------------------------

    async def get_secret_detail(self, name: str, version: str | None = None) -> SecretDetail:
        """A secret's properties (needs the get permission: the service sends the value
        along, which is dropped here at once; a list-only caller has the listed Item)."""
        try:
            secret = await self.secrets.get_secret(name, version)
        except Exception as exc:
            raise self.classify(exc, what=f"Reading {name}") from exc
        props = secret.properties
        del secret
        return SecretDetail(
            item=item_from_secret(props, with_version=True),
            key_id=props.key_id,
        )

    async def _get_key(self, name: str, version: str | None) -> KeyVaultKey:
        try:
            return await self.keys.get_key(name, version)
        except Exception as exc:
            raise self.classify(exc, what=f"Reading key {name}") from exc

    async def get_key_detail(self, name: str, version: str | None = None) -> KeyDetail:
        """Type, size or curve, permitted operations, public JWK parts, release policy and
        (for the current version) the rotation policy. A rotation policy that cannot be
        read (no getrotationpolicy permission, ...) leaves ``rotation_policy_error`` set
        instead of failing the detail."""
        key = await self._get_key(name, version)
        detail = key_detail(key, with_version=True)
        if version is None:
            if detail.item.managed:
                detail.rotation_policy_error = (
                    "Not applicable: this key belongs to a certificate and is renewed with it."
                )
            else:
                try:
                    policy = await self.keys.get_key_rotation_policy(name)
                except Exception as exc:
                    err = self.classify(exc, what="Rotation policy")
                    detail.rotation_policy_error = str(err)
                else:
                    detail.rotation_policy = RotationPolicySummary(
                        actions=tuple(
                            rotation_action_text(
                                _enum_text(a.action),
                                a.time_after_create,
                                a.time_before_expiry,
                            )
                            for a in policy.lifetime_actions or []
                        ),
                        expires_after=iso_duration_text(policy.expires_in),
                        created=policy.created_on,
                        updated=policy.updated_on,
                    )
        return detail

    async def public_key_pem(self, name: str, version: str | None = None) -> bytes:
        """The public key as ``-----BEGIN PUBLIC KEY-----`` PEM (SubjectPublicKeyInfo)."""
        detail = key_detail(await self._get_key(name, version), with_version=True)
        return key_detail_pem(detail)

    async def _get_certificate(self, name: str, version: str | None) -> KeyVaultCertificate:
        try:
            if version is None:
                return await self.certificates.get_certificate(name)
            return await self.certificates.get_certificate_version(name, version)
        except Exception as exc:
            raise self.classify(exc, what=f"Reading certificate {name}") from exc

    async def get_certificate_detail(
        self, name: str, version: str | None = None
    ) -> CertificateDetail:
        """Subject, SANs, issuer, serial, thumbprints, validity, key and signature
        algorithm of the certificate (or one version), and its policy. A policy that
        cannot be read leaves ``policy_error`` set instead of failing the detail."""
        cert = await self._get_certificate(name, version)
        props = cert.properties
        if props is None:
            raise NotFound(f"Reading certificate {name}: the service sent no properties")
        item = item_from_certificate(props, with_version=True)
        detail = describe_certificate(item, bytes(cert.cer or b""))
        detail.key_id = cert.key_id
        detail.secret_id = cert.secret_id
        policy = cert.policy
        if policy is None:
            try:
                policy = await self.certificates.get_certificate_policy(name)
            except Exception as exc:
                detail.policy_error = str(self.classify(exc, what="Certificate policy"))
        if policy is not None:
            detail.policy = CertificatePolicySummary(
                issuer_name=policy.issuer_name,
                subject=policy.subject,
                key_type=_enum_text(policy.key_type),
                key_size=policy.key_size,
                curve=_enum_text(policy.key_curve_name),
                exportable=policy.exportable,
                reuse_key=policy.reuse_key,
                content_type=_enum_text(policy.content_type),
                validity_months=policy.validity_in_months,
                lifetime_actions=tuple(
                    lifetime_action_text(
                        _enum_text(a.action),
                        a.lifetime_percentage,
                        a.days_before_expiry,
                    )
                    for a in policy.lifetime_actions or []
                ),
            )
        return detail

    async def issuer_names(self) -> list[str]:
        """The certificate issuers configured in the vault, by name."""
        try:
            return [p.name async for p in self.certificates.list_properties_of_issuers() if p.name]
        except Exception as exc:
            raise self.classify(exc, what="Listing certificate issuers") from exc

    async def certificate_cer(self, name: str, version: str | None = None) -> bytes:
        """The public certificate, DER (a .cer file). Never the private key."""
        cert = await self._get_certificate(name, version)
        if not cert.cer:
            raise NotFound(f"Certificate {name} has no issued certificate yet (pending?).")
        return bytes(cert.cer)

    async def certificate_pem(self, name: str, version: str | None = None) -> bytes:
        """The public certificate as PEM. Never the private key."""
        return cer_to_pem(await self.certificate_cer(name, version))


def _enum_text(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def key_detail(key: KeyVaultKey, *, with_version: bool) -> KeyDetail:
    """A plain KeyDetail from the SDK's KeyVaultKey."""
    jwk = key.key
    kty = _enum_text(getattr(jwk, "kty", None)) or ""
    n, e, crv, x, y = (getattr(jwk, f, None) for f in ("n", "e", "crv", "x", "y"))
    parts: list[tuple[str, str]] = []
    size: int | None = None
    curve: str | None = None
    if n is not None and e is not None:
        parts = [("n", b64url(n)), ("e", b64url(e))]
        size = int.from_bytes(n, "big").bit_length()
    if crv is not None:
        curve = _enum_text(crv)
        parts = [("crv", curve or "")]
        if x is not None:
            parts.append(("x", b64url(x)))
        if y is not None:
            parts.append(("y", b64url(y)))
    ops = tuple(
        _enum_text(o) or "" for o in (key.key_operations or getattr(jwk, "key_ops", None) or [])
    )
    item = item_from_key(key.properties, with_version=with_version)
    item.key_type, item.key_size, item.curve, item.key_ops = kty, size, curve, ops
    return KeyDetail(
        item=item,
        key_type=kty,
        key_size=size,
        curve=curve,
        key_ops=ops,
        public_jwk=tuple(parts),
        exportable=bool(key.properties.exportable),
        release_policy=key.properties.release_policy is not None,
        hsm=kty.upper().endswith("-HSM"),
    )


def key_detail_jwk(detail: KeyDetail) -> str:
    """The public key of a KeyDetail as a JWK (RFC 7517 JSON): kid, kty, key_ops and the
    public parameters, never private ones (a KeyDetail has none)."""
    jwk: dict[str, object] = {"kid": detail.item.id, "kty": detail.key_type or ""}
    if detail.key_ops:
        jwk["key_ops"] = list(detail.key_ops)
    jwk.update(dict(detail.public_jwk))
    return json.dumps(jwk, indent=2)


def key_detail_pem(detail: KeyDetail) -> bytes:
    """The public key of a KeyDetail as PEM; InvalidInput-like VaultError if it has none."""
    try:
        return jwk_public_pem(detail.key_type or "", dict(detail.public_jwk))
    except (KeyError, ValueError) as exc:
        raise VaultError(f"Key {detail.item.name}: no public key to export ({exc}).") from exc
