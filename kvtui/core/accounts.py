"""The accounts in msal's token cache: what an account is, which one a token response
belongs to, and the one way an account leaves the cache (:func:`forget_accounts`, used
by ``kvtui logout`` and by signing out in the app). Reading and forgetting need no msal
app and no network. No Textual here."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Account is needed before msal is imported (the app's first frame)
    import msal


@dataclass(frozen=True)
class Account:
    username: str
    home_account_id: str
    tenant_id: str
    environment: str

    @classmethod
    def from_msal(cls, raw: dict[str, Any]) -> Account:
        home = str(raw.get("home_account_id", ""))
        return cls(
            username=str(raw.get("username", "")),
            home_account_id=home,
            tenant_id=home.split(".", 1)[1] if "." in home else str(raw.get("realm", "")),
            environment=str(raw.get("environment", "")),
        )


def home_account_id_of(result: dict[str, Any]) -> str:
    """The ``home_account_id`` msal gives the account of a token response: ``uid.utid``
    from its ``client_info`` (the user's home tenant, also when it signed in to another
    tenant as a guest), else ``oid.tid`` from the id token, as msal falls back to."""
    raw = result.get("client_info")
    if isinstance(raw, str) and raw:
        try:
            info = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except ValueError:
            info = None
        if isinstance(info, dict) and info.get("uid") and info.get("utid"):
            return f"{info['uid']}.{info['utid']}"
    claims = result.get("id_token_claims") or {}
    return f"{claims.get('oid') or claims.get('sub', '')}.{claims.get('tid', '')}"


def cached_accounts(cache: msal.TokenCache) -> list[Account]:
    """Every account in msal's cache, one per ``home_account_id`` (whatever authority or
    tenant it signed in to), by user name."""
    seen: dict[str, Account] = {}
    from msal import TokenCache

    for raw in cache.search(TokenCache.CredentialType.ACCOUNT):
        acc = Account.from_msal(raw)
        seen.setdefault(acc.home_account_id, acc)
    return sorted(seen.values(), key=lambda a: (a.username.lower(), a.environment))


def forget_accounts(cache: msal.TokenCache, accounts: Iterable[Account]) -> int:
    """Sign out: remove the accounts and all their tokens (access, refresh, id) from the
    cache, as msal's ``remove_account`` does, in every tenant they signed in to. The only
    way an account leaves kvtui's cache. Blocking (the cache is a file): call it in a
    thread from the event loop. Returns how many of the accounts were in the cache."""
    from msal import TokenCache

    ct = TokenCache.CredentialType
    removed = 0
    for acc in accounts:
        query = {"home_account_id": acc.home_account_id}
        found = False
        for kind in (ct.ACCESS_TOKEN, ct.REFRESH_TOKEN, ct.ID_TOKEN, ct.ACCOUNT):
            for entry in list(cache.search(kind, query=query)):
                cache.modify(kind, entry)
                found = found or kind == ct.ACCOUNT
        removed += found
    return removed
