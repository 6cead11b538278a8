"""The certificates tab's administration, each an ``async def (tab, item)`` that
:mod:`kvtui.ui.operations` binds: a certificate's pending operation (its CSR, merge,
cancel, delete), its policy (view, edit), and the vault's certificate issuers and
contacts (palette only).

The dialogs (kvtui/ui/modals/pending.py, policy.py, issuers.py, contacts.py) get the
vault calls as functions: reads always; writes only when the vault is not read-only
(hidden there; kvtui/core/writes.py refuses them anyway). Every call goes through
``tab.session.call`` (signing in again if the sign-in expired) and
kvtui/core/certificates.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from azure.keyvault.certificates import CertificatePolicy

from kvtui.core import certificates, writes
from kvtui.core.errors import VaultError
from kvtui.core.models import Item
from kvtui.core.vault import VaultService
from kvtui.ui.modals.contacts import ContactsScreen
from kvtui.ui.modals.issuers import IssuerAccess, IssuersScreen
from kvtui.ui.modals.pending import PendingActions, PendingPicker, PendingScreen
from kvtui.ui.modals.policy import PolicyForm, PolicyScreen
from kvtui.ui.text import visible

if TYPE_CHECKING:
    from kvtui.ui.widgets.kind_tab import KindTab

T = TypeVar("T")


def _tell(tab: KindTab, text: str, **kwargs: Any) -> None:
    """A notification, every part of it shown literally (names come from the vault)."""
    tab.notify(visible(text), markup=False, **kwargs)


def _call(tab: KindTab, fn: Callable[[VaultService], Awaitable[T]]) -> Awaitable[T]:
    return tab.session.call(fn)


# -- the pending operation ----------------------------------------------------------------


async def _which_pending(tab: KindTab, item: Item | None) -> str | None:
    """The certificate whose operation to show: the highlighted one if it is pending;
    else the only pending one; else one picked among them; else the highlighted one
    (its operation may be over: the dialog says so). Pending certificates are not in
    the tab's list (the service lists them only when asked)."""
    try:
        names = await _call(tab, certificates.pending_names)
    except VaultError as exc:
        if item is None:
            _tell(tab, str(exc), title="Cannot list pending certificates", severity="error")
            return None
        names = []
    if item is not None and (item.name in names or not names):
        return item.name
    if len(names) == 1:
        return names[0]
    if names:
        picked: str | None = await tab.app.push_screen_wait(PendingPicker(names))
        return picked
    _tell(tab, "No certificate of this vault has a pending operation.")
    return None


async def pending(tab: KindTab, item: Item | None) -> None:
    """A certificate's pending operation: status, CSR; merge, cancel, delete."""
    name = await _which_pending(tab, item)
    if name is None:
        return
    actions = PendingActions(lambda: _call(tab, lambda s: certificates.get_operation(s, name)))
    if not tab.read_only:
        actions.merge = lambda chain: _call(
            tab, lambda s: certificates.merge_certificate(s, name, chain)
        )
        actions.cancel = lambda: _call(tab, lambda s: writes.cancel_certificate_operation(s, name))
        actions.delete = lambda: _call(tab, lambda s: writes.delete_certificate_operation(s, name))
    if await tab.app.push_screen_wait(PendingScreen(name, actions)):
        tab.reload()  # merged: listed now; deleted: gone


# -- the policy -----------------------------------------------------------------------------


def _policy_calls(
    tab: KindTab, name: str
) -> tuple[
    Callable[[], Awaitable[CertificatePolicy]],
    Callable[[CertificatePolicy, certificates.PolicyEdit], Awaitable[CertificatePolicy]] | None,
]:
    def read() -> Awaitable[CertificatePolicy]:
        return _call(tab, lambda s: certificates.get_policy(s, name))

    def save(
        current: CertificatePolicy, edit: certificates.PolicyEdit
    ) -> Awaitable[CertificatePolicy]:
        return _call(tab, lambda s: certificates.update_policy(s, name, current, edit))

    return read, None if tab.read_only else save


async def policy(tab: KindTab, item: Item) -> None:
    """The certificate's policy; ``e`` in it edits (not read-only)."""
    read, save = _policy_calls(tab, item.name)
    if await tab.app.push_screen_wait(PolicyScreen(item.name, read, save)):
        tab.reread_detail()  # the pane shows the policy too


async def edit_policy(tab: KindTab, item: Item) -> None:
    """Straight to the policy's form."""
    name = item.name
    read, save = _policy_calls(tab, name)
    if save is None:
        return
    try:
        current = await read()
    except VaultError as exc:
        _tell(tab, str(exc), title="Cannot read the policy", severity="error")
        return
    if await tab.app.push_screen_wait(PolicyForm(name, current, save)) is not None:
        _tell(tab, f"Saved the policy of {name}: its next version follows it.")
        tab.reread_detail()


# -- issuers and contacts -------------------------------------------------------------------


async def issuers(tab: KindTab, item: Item | None) -> None:
    """The vault's certificate issuers: list, view; new, edit, delete (not read-only)."""
    access = IssuerAccess(
        lambda: _call(tab, certificates.list_issuers),
        lambda name: _call(tab, lambda s: certificates.get_issuer(s, name)),
    )
    if not tab.read_only:
        access.create = lambda name, fields: _call(
            tab, lambda s: certificates.create_issuer(s, name, fields)
        )
        access.update = lambda name, fields: _call(
            tab, lambda s: certificates.update_issuer(s, name, fields)
        )
        access.delete = lambda name: _call(tab, lambda s: certificates.delete_issuer(s, name))
    await tab.app.push_screen_wait(IssuersScreen(access))


async def contacts(tab: KindTab, item: Item | None) -> None:
    """The vault's certificate contacts: view; edit, delete all (not read-only)."""
    read = lambda: _call(tab, certificates.get_contacts)  # noqa: E731
    if tab.read_only:
        await tab.app.push_screen_wait(ContactsScreen(read))
        return
    await tab.app.push_screen_wait(
        ContactsScreen(
            read,
            lambda listed: _call(tab, lambda s: certificates.set_contacts(s, listed)),
            lambda: _call(tab, certificates.delete_contacts),
        )
    )
