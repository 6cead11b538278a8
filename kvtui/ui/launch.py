"""Everything the app needs, built from Settings, without Textual: the cloud, the
sign-in (msal over a persisted token cache), scopes, trust, and how to open a vault.

The CLI, ``kvtui demo`` and the tests all build the app the same way:
``KvtuiApp(build_context(settings))``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kvtui.core import state, validation
from kvtui.core.cache import Held, MetadataCache, folder_for, vault_key
from kvtui.core.clouds import Cloud, get_cloud
from kvtui.core.config import ConfigError, Settings
from kvtui.core.models import Kind
from kvtui.core.readonly import read_only_rule
from kvtui.core.token_cache import default_cache_path

if TYPE_CHECKING:
    import subprocess

    # The heavy part (msal, the SDKs, aiohttp) is imported when first used: after the
    # app's first frame, in a thread (KvtuiApp.start).
    import msal

    from kvtui.core.auth import Account, MsalCredential, SignIn
    from kvtui.core.lister import EarlyListing
    from kvtui.core.lister_child import ListerRequest
    from kvtui.core.session import VaultSession
    from kvtui.core.throttle import ThrottleCallback
    from kvtui.core.vault import VaultService
    from kvtui.ui.splash import Splash

log = logging.getLogger("kvtui.launch")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def split_authority(authority: str) -> tuple[str, str | None]:
    """``https://host[:port]/tenant`` -> (``https://host[:port]``, ``tenant`` or None)."""
    try:
        # The tenant's shape is checked with the other settings (load_settings); here
        # only what the URL needs to be used at all.
        return validation.authority(authority, "--authority", check_tenant=False)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


@dataclass
class AppContext:
    """What the app is given: settings, cloud, sign-in and how to open a vault."""

    settings: Settings
    cloud: Cloud
    make_sign_in: Callable[[], SignIn]
    """Builds the sign-in (msal over the token cache): see :attr:`sign_in`."""
    vault_scope: str
    arm_url: str
    arm_scope: str
    ca_bundle: str | None
    custom_authority: bool
    """--authority was given (the emulator, or a private endpoint)."""
    metadata_dir: Path | None = None
    """The metadata cache's folder (kvtui/core/cache.py), beside the token cache; None:
    off (``--no-cache``, ``metadata_cache = false``)."""
    state_path: Path = field(default_factory=state.default_state_path)
    """kvtui/core/state.py's file: the account used last, recent and pinned vaults."""
    held_listings: dict[tuple[str, str, Kind], Held] = field(default_factory=dict)
    """Listings the app's preview read from the metadata cache, for the vault screen to
    take rather than read again (:meth:`MetadataCache.hold`)."""
    retry_total: int = 3
    title: str = "kvtui"
    now: Callable[[], datetime] = utc_now
    """The clock of "in 12 days", expiry marks and ``status:`` filters (tests pin it)."""
    make_lister_request: Callable[[str, str], ListerRequest | None] | None = None
    """(vault URL, account id) -> what the early listing's child needs, or None when
    the sign-in is not msal over a token cache file (tests give msal a cache)."""
    early_listing: EarlyListing | None = None
    """The vault's secrets, listed by a child process since kvtui started
    (kvtui/core/lister.py; the CLI starts it): the vault screen takes it over."""
    spare_lister: subprocess.Popen[bytes] | None = None
    """The early listing's child, started by the CLI before anything else
    (kvtui/core/lister_child.py), until :meth:`start_early_listing` gives it a vault."""
    painted: bool = False
    """The CLI painted the cached table before the app loaded (kvtui/ui/splash.py): the
    app's preview needs only its first rows in its first frame, and the early listing
    started at once (the paint does not wait for it)."""
    early_listing_later: bool = False
    """The CLI left the early listing to the app, to start after its first frame (a
    warm start: :meth:`has_cached_listing`)."""

    @cached_property
    def sign_in(self) -> SignIn:
        """msal over the persisted token cache, made on first use (importing msal is a
        tenth of a second: the app does it after its first frame, in a thread)."""
        return self.make_sign_in()

    # -- vaults -------------------------------------------------------------------------

    def vault_url(self, name_or_url: str) -> str:
        return self.cloud.vault_url(name_or_url)

    def start_early_listing(self) -> EarlyListing | None:
        """The --vault's secrets listed in a child process while the app loads, as the
        app would sign in silently (the account used last, else the only one); None
        when there is no --vault, no token cache file yet, or it cannot start."""
        vault = self.settings.vault
        if not vault or self.make_lister_request is None:
            self.discard_spare_lister()
            return None
        request = self.make_lister_request(self.vault_url(vault), self.last_account_id() or "")
        if request is None:
            self.discard_spare_lister()
            return None
        from kvtui.core import lister

        process, self.spare_lister = self.spare_lister, None
        self.early_listing = lister.start(request, process)
        return self.early_listing

    def discard_spare_lister(self) -> None:
        """The child the CLI started, if it was not given a listing to do."""
        process, self.spare_lister = self.spare_lister, None
        if process is not None:
            from kvtui.core import lister

            lister.discard(process)

    def last_cache(self) -> tuple[MetadataCache, str] | None:
        """The metadata cache of the account used last (its listings held for one
        another: :attr:`held_listings`) and the --vault's URL; None without a --vault,
        an account used last, or a metadata cache."""
        vault, account_id = self.settings.vault, self.last_account_id()
        if not vault or not account_id or self.metadata_dir is None:
            return None
        return MetadataCache(self.metadata_dir, account_id, self.held_listings), (
            self.vault_url(vault)
        )

    def has_cached_listing(self) -> bool:
        """The --vault's secrets are in the metadata cache of the account used last:
        the CLI paints them before the app loads (:meth:`first_paint`), else the app's
        preview shows them with its first frame."""
        last = self.last_cache()
        return last is not None and last[0].load(last[1], Kind.SECRETS, limit=1) is not None

    def first_paint(self) -> Splash | None:
        """The cached secrets of --vault painted on the terminal before Textual loads
        (kvtui/ui/splash.py), in the look the app's last preview had, and held for the
        app's own preview (no second read); None where nothing was painted."""
        from kvtui.ui import splash

        look = splash.Look.from_dict(state.saved_look(self.state_path))
        last = self.last_cache()
        if look is None or last is None or splash.usable_terminal() is None:
            return None
        cache, url = last
        cached = cache.load(url, Kind.SECRETS, limit=splash.PAINT_ROWS)
        if cached is None or not cached.items:
            return None
        more: list[str] = []
        if cached.total > len(cached.items):
            more = cache.names(url, Kind.SECRETS)[len(cached.items) :]
        else:
            cache.hold(url, Kind.SECRETS, cached)  # the whole listing, for the app's preview
        return splash.paint(
            splash.Preview(
                cached.items,
                total=cached.total,
                state=splash.cached_state(cached.total, cached.total, cached.age_text()),
                url=url,
                look=look,
                warn_days=self.settings.expiry_warning_days,
                now=self.now,
                more_names=more,
            )
        )

    def take_early_listing(self, vault_url: str, account: Account) -> EarlyListing | None:
        """The early listing, once, if it lists ``vault_url`` as ``account`` (as far
        as it has said: the session checks again); else it is stopped and None."""
        early, self.early_listing = self.early_listing, None
        if early is None:
            return None
        same_vault = vault_key(early.vault_url) == vault_key(vault_url)
        if same_vault and early.account_id in (None, account.home_account_id):
            return early
        early.stop()
        return None

    def verify_challenge_resource(self, vault_url: str) -> bool:
        """On against Azure; off against the emulator or any vault outside the cloud's
        DNS suffix (a vault on 127.0.0.1:port can never pass the SDK's check)."""
        host = (urlsplit(vault_url).hostname or "").lower()
        return not self.custom_authority and host.endswith(self.cloud.vault_suffix)

    def metadata_cache(self, account: Account) -> MetadataCache | None:
        """The account's metadata cache, or None when it is off."""
        if self.metadata_dir is None:
            return None
        return MetadataCache(self.metadata_dir, account.home_account_id, self.held_listings)

    def credential(self, account: Account) -> MsalCredential:
        return self.sign_in.credential(account)

    def vault_service(
        self,
        vault_url: str,
        account: Account,
        *,
        on_throttle: ThrottleCallback | None = None,
        on_answer: Callable[[], None] | None = None,
    ) -> VaultService:
        from kvtui.core.vault import VaultService

        return VaultService(
            vault_url,
            self.credential(account),
            ca_bundle=self.ca_bundle,
            verify_challenge_resource=self.verify_challenge_resource(vault_url),
            retry_total=self.retry_total,
            on_throttle=on_throttle,
            cloud=self.cloud,
            on_answer=on_answer,
        )

    def open_session(
        self, vault_url: str, account: Account, *, name: str = "", tenant_id: str = ""
    ) -> VaultSession:
        """The vault, open as ``account``; it joins the recent vaults (as ``name``, in
        ``tenant_id``: from the picker) at its first successful answer, never when
        it fails."""

        def answered() -> None:
            self.vault_history().record_open(vault_url, name=name, tenant_id=tenant_id)

        from kvtui.core.session import VaultSession

        rule = read_only_rule(self.settings, vault_url, name)
        return VaultSession(
            vault_url,
            account,
            self.vault_service,
            answered=answered,
            read_only_rule=rule,
            early=self.take_early_listing(vault_url, account),
        )

    # -- the state file: account used last, recent and pinned vaults -----------------

    def last_account_id(self) -> str | None:
        return state.last_account(self.state_path)

    def remember_account(self, account: Account | None) -> None:
        state.remember_account(self.state_path, account.home_account_id if account else None)

    def vault_history(self) -> state.VaultHistory:
        return state.VaultHistory(self.state_path)


def build_context(
    settings: Settings,
    *,
    cache: msal.TokenCache | None = None,
    state_path: Path | None = None,
    title: str = "kvtui",
) -> AppContext:
    """The app's context from settings. Raises ConfigError for unusable settings.
    No network here: msal's first request happens in the app, off the event loop."""
    cloud = get_cloud(settings.cloud)
    ca_bundle = str(Path(settings.ca_bundle).expanduser()) if settings.ca_bundle else None
    if settings.authority:
        authority_host, authority_tenant = split_authority(settings.authority)
        tenant = authority_tenant or settings.tenant
        custom = authority_host.rstrip("/") != cloud.authority_host
    else:
        authority_host, tenant, custom = cloud.authority_host, settings.tenant, False
    token_path = Path(settings.token_cache).expanduser() if settings.token_cache else None
    if cache is None:
        # A folder that cannot be made fails here (the CLI says so), not in the app.
        (token_path or default_cache_path()).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    metadata_dir = folder_for(settings.token_cache) if settings.metadata_cache else None

    def make_sign_in() -> SignIn:
        from kvtui.core.auth import SignIn, open_token_cache

        return SignIn(
            authority_host=authority_host,
            tenant=tenant,
            client_id=settings.client_id,
            cache=cache if cache is not None else open_token_cache(token_path),
            ca_bundle=ca_bundle,
            validate_authority=not custom,
        )

    def make_lister_request(vault_url: str, account_id: str) -> ListerRequest | None:
        from kvtui.core.lister_child import ListerRequest

        if cache is not None or not (token_path or default_cache_path()).is_file():
            return None
        return ListerRequest(
            vault_url=vault_url,
            account_id=account_id,
            authority_host=authority_host,
            tenant=tenant,
            client_id=settings.client_id,
            token_cache=str(token_path) if token_path else None,
            ca_bundle=ca_bundle,
            validate_authority=not custom,
            verify_challenge_resource=context.verify_challenge_resource(vault_url),
            retry_total=context.retry_total,
        )

    arm_url = settings.arm_url or cloud.arm_url
    context = AppContext(
        settings=settings,
        cloud=cloud,
        make_sign_in=make_sign_in,
        vault_scope=cloud.vault_scope,
        arm_url=arm_url if arm_url.endswith("/") else arm_url + "/",
        arm_scope=cloud.arm_scope,
        ca_bundle=ca_bundle,
        custom_authority=custom,
        state_path=state_path or state.default_state_path(),
        title=title,
        metadata_dir=metadata_dir,
        make_lister_request=make_lister_request,
    )
    return context
