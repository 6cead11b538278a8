"""The palette's "Expiring across vaults": the secrets, keys and certificates that have
expired or expire within ``expiry_warning_days``, in every vault the account can see,
soonest first, as ``kvtui expiring`` lists them (:func:`kvtui.core.reports.expiring`:
disabled items too; the secret and key behind a certificate are left out, the
certificate is listed). Expired rows are marked as the vault's tables mark them (✖, in
the error colour), expiring ones ⚠.

``ExpiringScreen(context, account)``, dismissed with the :class:`~kvtui.core.reports.Row`
chosen (enter) or None; :func:`~kvtui.ui.screens.cross_vault.open_in_vault` opens it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual.binding import BindingType

from kvtui.core import reports
from kvtui.core.crawl import Target
from kvtui.core.models import Item
from kvtui.core.present import expires_cell, yes_no
from kvtui.core.reports import Row
from kvtui.ui.keys import KeyedHelp
from kvtui.ui.screens.cross_vault import (
    SHORT,
    Column,
    CrossVaultScreen,
    short_expiry,
    short_kind,
)

if TYPE_CHECKING:
    from kvtui.core.auth import Account
    from kvtui.ui.launch import AppContext

__all__ = ["ExpiringScreen"]


class ExpiringScreen(CrossVaultScreen):
    """Expired and expiring items across vaults. Dismissed with the row chosen, or None."""

    HELP = KeyedHelp("""\
## Expiring across vaults

The secrets, keys and certificates of every vault your account can see that have
expired (✖) or expire within `expiry_warning_days` (⚠), soonest first; disabled ones
too. A certificate's own secret and key are not listed: the certificate is.
**↑/↓** choose, **enter** opens the item in its vault.

The vaults are read through the metadata cache; **{expiring.refresh}** reads every
vault again. Vaults that could not be read are named above the list.
**{expiring.close}** closes.
""")

    BINDINGS: ClassVar[list[BindingType]] = CrossVaultScreen.bindings("expiring", "expiring items")

    PREFIX = "expiring"
    COLUMNS = (
        Column("vault", "Vault", 16, 6, drop=2, grow=1),
        Column("kind", "Kind", 6, 4, drop=5, grow=2),
        Column("name", "Name", 24, 12, grow=3, flex=True),
        Column("expires", "Expires", 20, 10, drop=1, grow=4),
        Column("days", "Days", 5, 4, drop=3, grow=5),
        Column("enabled", "Enabled", 7, 3, drop=4, grow=6),
    )

    def __init__(self, context: AppContext, account: Account) -> None:
        super().__init__(context, account)
        self.days = self.warn_days

    def title_text(self) -> str:
        return f"Expired and expiring within {self.days} days"

    def on_mount(self) -> None:
        self.table.focus()
        super().on_mount()

    def select(self, found: list[tuple[Target, Item]], now: datetime) -> list[Row]:
        return reports.expiring(found, self.days, now)

    def cells(self, row: Row, now: datetime) -> dict[str, str]:
        item = row.item
        left = reports.days_left(item, now)
        return {
            "vault": row.target.name,
            "kind": item.kind.singular,
            "kind" + SHORT: short_kind(item.kind),
            "name": item.name,
            "expires": expires_cell(item, now, self.days),
            "expires" + SHORT: short_expiry(item, now, self.days),
            "days": "" if left is None else str(left),
            "enabled": yes_no(item.enabled),
        }

    def summary(self) -> str:
        result = self.result
        vaults = result.vaults if result is not None else 0
        now = self.context.now()
        expired = sum(reports.has_expired(r, now) for r in self.rows)
        where = f"{vaults} vault{'s' if vaults != 1 else ''}"
        return f"{expired} expired, {len(self.rows) - expired} expiring in {where}"
