"""The emulated directory: tenants, users, client apps, signing key, tokens.

The identity endpoints (identity.py) issue tokens through this; the vault and ARM
endpoints validate them through this. Kept in the state folder so tokens and refresh
tokens survive a restart (a second ``kvtui demo`` signs in silently).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets as pysecrets
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kvtui.emulator.clock import Clock
from kvtui.emulator.settings import AZURE_CLI_CLIENT_ID

VAULT_RESOURCE = "https://vault.azure.net"
ARM_RESOURCES = ("https://management.azure.com", "https://management.core.windows.net")
#: The audience the ARM endpoints accept (both spellings Azure uses).
ARM_AUDIENCES = (
    "https://management.azure.com/",
    "https://management.core.windows.net/",
    "https://management.azure.com",
    "https://management.core.windows.net",
)
#: How far in the future a token's ``nbf`` may be (clocks differ a little).
NBF_SKEW = 300
#: Scopes msal adds to every request; they are not resources.
OIDC_SCOPES = {"openid", "profile", "offline_access", "email"}


class TokenError(Exception):
    """A token the emulator will not accept; ``str(self)`` is the service's message.

    ``reason`` says why (``missing``, ``issuer``, ``audience``, ``expired``, ``revoked``)
    so that each service can word its own error; ``claims`` are the token's claims
    when they could be read (a revoked CAE token needs them for the claims challenge).
    """

    def __init__(
        self, message: str, reason: str = "invalid", claims: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.claims = claims or {}
        self.revoked_at = 0


def cae_claims_challenge(error: TokenError) -> str | None:
    """The ``claims`` of a CAE challenge (standard base64 JSON, as Azure sends it) when
    ``error`` is a revoked token of a client that declared the ``cp1`` capability."""
    caps = error.claims.get("xms_cc") or []
    if error.reason != "revoked" or "cp1" not in [str(c).lower() for c in caps]:
        return None
    challenge = {"access_token": {"nbf": {"essential": True, "value": str(error.revoked_at)}}}
    return base64.b64encode(json.dumps(challenge, separators=(",", ":")).encode()).decode()


@dataclass
class User:
    oid: str
    name: str
    upn: str
    home_tenant: str
    tenants: list[str]
    """Tenants the user may get tokens for (home, and those it is a guest in)."""


@dataclass
class ServicePrincipal:
    client_id: str
    client_secret: str
    oid: str
    name: str


@dataclass
class RefreshToken:
    oid: str
    client_id: str
    expires_on: int
    revoked: bool = False


@dataclass
class DirectoryState:
    home_tenant: str
    other_tenant: str
    public_client_id: str
    users: list[User]
    apps: list[ServicePrincipal]
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    tenant_names: dict[str, str] = field(default_factory=dict)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _new_state() -> DirectoryState:
    home, other = str(uuid.uuid4()), str(uuid.uuid4())
    user = User(
        oid=str(uuid.uuid4()),
        name="Demo User",
        upn="demo.user@kvtui-demo.example",
        home_tenant=home,
        tenants=[home, other],
    )
    app = ServicePrincipal(
        client_id=str(uuid.uuid4()),
        client_secret=pysecrets.token_urlsafe(24),
        oid=str(uuid.uuid4()),
        name="kvtui-emulator-automation",
    )
    return DirectoryState(
        home_tenant=home,
        other_tenant=other,
        public_client_id=str(uuid.uuid4()),
        users=[user],
        apps=[app],
        tenant_names={home: "kvtui demo", other: "kvtui partner (guest)"},
    )


def _load_state(d: dict[str, Any]) -> DirectoryState:
    return DirectoryState(
        home_tenant=d["home_tenant"],
        other_tenant=d["other_tenant"],
        public_client_id=d["public_client_id"],
        users=[User(**u) for u in d["users"]],
        apps=[ServicePrincipal(**a) for a in d["apps"]],
        refresh_tokens={k: RefreshToken(**v) for k, v in d.get("refresh_tokens", {}).items()},
        tenant_names=d.get("tenant_names", {}),
    )


class Directory:
    """Tenants, principals and the token signing key of one emulator."""

    def __init__(
        self, state_dir: Path, token_lifetime: int = 3600, clock: Clock | None = None
    ) -> None:
        self.state_dir = state_dir
        self.clock = clock or Clock()
        """Tokens are issued, expire and are revoked on it."""
        self.token_lifetime = token_lifetime
        self.issuer_host = ""
        """``https://host:port`` of the identity platform; set by the server."""
        self.revoked_before: dict[str, int] = {}
        """oid -> unix time: tokens of that principal issued earlier are revoked (CAE)."""
        path = state_dir / "directory.json"
        self.state = _load_state(json.loads(path.read_text())) if path.exists() else _new_state()
        key_path = state_dir / "signing-key.pem"
        if key_path.exists():
            loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            self.key = loaded
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(
                    self.key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                )
        pub = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = b64url(hashlib.sha256(pub).digest()[:20])
        self.save()

    # -- persistence -------------------------------------------------------------------

    def save(self) -> None:
        now = self.clock.now()
        self.state.refresh_tokens = {
            k: v for k, v in self.state.refresh_tokens.items() if v.expires_on > now
        }
        path = self.state_dir / "directory.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(self.state), fh, indent=1)

    # -- principals ----------------------------------------------------------------------

    @property
    def default_user(self) -> User:
        return self.state.users[0]

    @property
    def automation_app(self) -> ServicePrincipal:
        return self.state.apps[0]

    def resolve_tenant(self, tenant: str, user: User | None = None) -> str | None:
        """The tenant id a path segment names: a GUID, or common/organizations/consumers."""
        if tenant in ("common", "organizations"):
            return user.home_tenant if user else self.state.home_tenant
        if tenant in (self.state.home_tenant, self.state.other_tenant):
            return tenant
        return None

    def user_tenant(self, segment: str, user: User) -> str | None:
        """The tenant a path segment names for ``user``, if the user belongs to it."""
        tenant = self.resolve_tenant(segment, user)
        return tenant if tenant in user.tenants else None

    def public_client_ok(self, client_id: str) -> bool:
        return client_id in (self.state.public_client_id, AZURE_CLI_CLIENT_ID)

    def app_by_client_id(self, client_id: str) -> ServicePrincipal | None:
        return next((a for a in self.state.apps if a.client_id == client_id), None)

    def add_user(self, *, upn: str, name: str, home_tenant: str, tenants: list[str]) -> User:
        """A new user with a new object id (its UPN may be another user's too)."""
        user = User(
            oid=str(uuid.uuid4()), name=name, upn=upn, home_tenant=home_tenant, tenants=tenants
        )
        self.state.users.append(user)
        self.save()
        return user

    def user_by_oid(self, oid: str) -> User | None:
        return next((u for u in self.state.users if u.oid == oid), None)

    # -- tokens --------------------------------------------------------------------------

    def issuer(self, tenant: str) -> str:
        """Access-token issuer (v1 form, as vault tokens carry)."""
        return f"https://sts.windows.net/{tenant}/"

    def v2_issuer(self, tenant: str) -> str:
        return f"{self.issuer_host}/{tenant}/v2.0"

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def access_token(
        self,
        *,
        tenant: str,
        audience: str,
        client_id: str,
        oid: str,
        name: str,
        upn: str | None = None,
        scp: str | None = None,
        lifetime: int | None = None,
        cae: bool = False,
    ) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        life = self.token_lifetime if lifetime is None else lifetime
        t = self.clock.now()
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.issuer(tenant),
            # Tokens issued in the second of a revocation must survive it.
            "iat": max(t, self.revoked_before.get(oid, -1) + 1),
            "nbf": t,
            "exp": t + life,
            "appid": client_id,
            "oid": oid,
            "sub": oid,
            "tid": tenant,
            "name": name,
            "ver": "1.0",
            "uti": b64url(os.urandom(12)),
        }
        if upn:
            claims["upn"] = upn
        if scp:
            claims["scp"] = scp
        if cae:
            claims["xms_cc"] = ["cp1"]
        return self.sign(claims), life

    def id_token(self, user: User, tenant: str, client_id: str) -> str:
        t = self.clock.now()
        return self.sign(
            {
                "aud": client_id,
                "iss": self.v2_issuer(tenant),
                "iat": t,
                "nbf": t,
                "exp": t + 3600,
                "name": user.name,
                "oid": user.oid,
                "sub": user.oid,
                "preferred_username": user.upn,
                "tid": tenant,
                "ver": "2.0",
            }
        )

    @staticmethod
    def client_info(user: User) -> str:
        return b64url(json.dumps({"uid": user.oid, "utid": user.home_tenant}).encode())

    def new_refresh_token(self, oid: str, client_id: str, lifetime: int = 90 * 86400) -> str:
        token = "rt." + pysecrets.token_urlsafe(32)
        self.state.refresh_tokens[token] = RefreshToken(oid, client_id, self.clock.now() + lifetime)
        self.save()
        return token

    def redeem_refresh_token(self, token: str, client_id: str) -> RefreshToken | None:
        rt = self.state.refresh_tokens.get(token)
        expired = rt is not None and rt.expires_on < self.clock.time()
        if rt is None or rt.revoked or expired or rt.client_id != client_id:
            return None
        return rt

    def refresh_token_problem(self, token: str, client_id: str) -> str | None:
        """Why a refresh token cannot be redeemed (``unknown``, ``revoked``, ``expired``,
        ``client``), or None when it can."""
        rt = self.state.refresh_tokens.get(token)
        if rt is None:
            return "unknown"
        if rt.revoked:
            return "revoked"
        if rt.expires_on < self.clock.time():
            return "expired"
        return "client" if rt.client_id != client_id else None

    def revoke_sessions(self, oid: str) -> int:
        """Revoke every access token of ``oid`` issued until now (CAE); returns the time."""
        # Tokens issued in the second of an earlier revocation carry the next second.
        t = max(self.clock.now(), self.revoked_before.get(oid, -1) + 1)
        self.revoked_before[oid] = t
        return t

    def revoke_refresh_tokens(self, oid: str | None = None) -> int:
        n = 0
        for rt in self.state.refresh_tokens.values():
            if oid is None or rt.oid == oid:
                rt.revoked = True
                n += 1
        self.save()
        return n

    def validate(self, token: str, audiences: tuple[str, ...]) -> dict[str, Any]:
        """Claims of a token this emulator issued for one of ``audiences``, or TokenError."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError(
                "AKV10000: Request is missing a Bearer or PoP token.", "malformed"
            ) from exc
        if header.get("kid") != self.kid:
            raise TokenError(
                "AKV10032: Invalid issuer. Expected one of the issuers this vault "
                "trusts; the token was not issued by this identity platform.",
                "issuer",
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["RS256"],
                # Times are checked below, on the emulator's clock, not the machine's.
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise TokenError(
                "AKV10032: Invalid issuer. The token signature is invalid.", "issuer"
            ) from exc
        if int(claims.get("nbf", 0)) > self.clock.time() + NBF_SKEW:
            raise TokenError(
                "AKV10032: Invalid issuer. The token signature is invalid.", "issuer", claims
            )
        if claims.get("aud") not in audiences:
            raise TokenError(
                f"AKV10022: Invalid audience. Expected {audiences[0]}, found: {claims.get('aud')}.",
                "audience",
                claims,
            )
        if int(claims.get("exp", 0)) < self.clock.time():
            raise TokenError(
                "AKV10031: Token has expired. Please acquire a new token.", "expired", claims
            )
        revoked = self.revoked_before.get(str(claims.get("oid")))
        if revoked is not None and int(claims.get("iat", 0)) <= revoked:
            err = TokenError("AKV10035: Token has been revoked.", "revoked", claims)
            err.revoked_at = revoked
            raise err
        return claims

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "kid": self.kid,
                    "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                    "e": b64url(numbers.e.to_bytes(3, "big")),
                }
            ]
        }
