"""What can be done to the highlighted item, one entry per operation: its key, for which
kinds, whether it needs an item, whether it writes to the vault, and in which view (the
listed items, the deleted ones, or both). The vault screen makes its bindings from
:data:`OPERATIONS` (each runs ``op('<name>')``), asks :meth:`Operation.applies` whether a
key is on (the footer, help and palette follow), and the full-height item view lists the
ones that apply, each with the key the user has.

**Where a new action goes**: one :class:`Operation` in :data:`OPERATIONS` (reads) or
:data:`WRITES`, with ``writes=True`` if it changes the vault (read-only then hides it
everywhere, and kvtui/core/writes.py refuses it anyway), and its ``run``: an ``async def
(tab, item)`` that asks in a modal (``await tab.app.push_screen_wait(...)``, the modals
live in ``kvtui/ui/modals/``), calls the vault through ``tab.session.call(lambda s:
...)`` (renewing the sign-in if needed) and updates the tab in place
(``tab.written``, ``tab.removed``...). The writes are in :mod:`kvtui.ui.writing`. An
action that needs no item (create) sets ``needs_item=False``; one the service refuses on
a certificate's secret or key sets ``managed_ok=False``. Per-kind reading and exporting
is in :mod:`kvtui.core.kinds`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from textual.binding import Binding

from kvtui.core import keyops
from kvtui.core.details import cer_to_pem, present_value
from kvtui.core.errors import VaultError
from kvtui.core.keyops import Outcome
from kvtui.core.kinds import KINDS
from kvtui.core.models import CertificateDetail, Item, KeyDetail, Kind
from kvtui.core.references import CopyChoice, copy_choices, export_filename
from kvtui.core.vault import key_detail_jwk, key_detail_pem
from kvtui.ui import certificate_admin, certificate_files, writing
from kvtui.ui.clipboard import SecretClipboard
from kvtui.ui.keys import key_for
from kvtui.ui.modals.copy_menu import CopyMenu
from kvtui.ui.modals.export import ExportScreen
from kvtui.ui.modals.key_ops import KeyOperations
from kvtui.ui.modals.versions import VersionsScreen
from kvtui.ui.text import literal, visible

if TYPE_CHECKING:
    from kvtui.ui.widgets.kind_tab import KindTab

ALL_KINDS = frozenset(Kind)
View = Literal["live", "deleted", "both"]
Run = Callable[["KindTab", Item], Awaitable[None]]
# (An operation with needs_item=False is run with the highlighted item or None.)


@dataclass(frozen=True)
class Operation:
    name: str
    """The binding runs ``op('<name>')`` on the vault screen."""
    binding_id: str
    """The keymap's id (``[keymap] "vault.reveal" = "x"``)."""
    key: str
    label: str
    tooltip: str
    run: Run
    kinds: frozenset[Kind] = ALL_KINDS
    needs_item: bool = True
    writes: bool = False
    group: str = "modal"
    """Its worker's group: a second press while one runs replaces it."""
    show: bool = field(default=True)
    view: View = "live"
    """Where it applies: the listed items, the deleted ones (``D``), or both."""
    exclusive: bool = True
    """A second press while it runs cancels the first (False: both run, in order)."""
    managed_ok: bool = True
    """False: not for a secret or key that belongs to a certificate (the service
    refuses it; the vault screen says to use the certificate instead)."""

    def applies(
        self, kind: Kind, item: Item | None, *, read_only: bool, deleted: bool = False
    ) -> bool:
        return (
            kind in self.kinds
            and (item is not None or not self.needs_item)
            and not (self.writes and read_only)
            and (self.view == "both" or (self.view == "deleted") == deleted)
        )

    def binding(self) -> Binding:
        return Binding(
            self.key,
            f"op('{self.name}')",
            self.label,
            show=self.show,
            id=self.binding_id,
            tooltip=self.tooltip,
        )


# -- the operations -------------------------------------------------------------------


async def reveal(tab: KindTab, item: Item) -> None:
    """Show a secret's value in the pane until the user moves on (again: hide it)."""
    pane = tab.pane
    if pane.revealed:
        pane.mask()
        return
    pane.value_loading()
    session = tab.session
    generation = session.generation
    name = item.name
    try:
        value = await session.call(lambda s: s.get_secret_value(name))
    except VaultError as exc:
        if pane.item is item:
            pane.show_value_error(str(exc))
        return
    if session.generation != generation:
        # Signed in again meanwhile: a listing waiting for the same sign-in reads the
        # list again, with new rows. Carry the reveal out on the same secret.
        await tab.after_listing()
        current = tab.table.cursor_item
        if current is not None and current.name == name:
            tab.show_item(current)
            item = current
        elif pane.item is not item:
            again = key_for(tab, "vault.reveal")
            tab.notify(
                f"Reveal of {literal(name, multiline=False).plain} dropped: the list "
                f"changed while you signed in. Press {literal(again, multiline=False).plain} "
                "again.",
                severity="warning",
                markup=False,
            )
    if pane.item is item:
        pane.show_value(present_value(value, item.content_type))
        if pane.detail is None and pane.detail_error:
            # The value was readable, so the details are too, now ("Listed attributes
            # only" came from a 403 that no longer holds).
            tab.reread_detail()
    del value


async def copy(tab: KindTab, item: Item) -> None:
    """A secret's value (cleared from the clipboard later), or the PEM of a key or
    certificate."""
    ops = KINDS[item.kind]
    try:
        if ops.reveals:
            value = await tab.session.call(lambda s: s.get_secret_value(item.name))
            # kvtui/ui/clipboard.py clears it later (the clipboard, and tmux's buffers
            # holding it) unless something else was copied meanwhile.
            said = SecretClipboard(tab.app).copy(item.name, value, tab.clipboard_seconds)
            del value
            tab.notify(visible(said), markup=False)
            return
        export = ops.pem
        if export is None:
            return
        pem = await tab.session.call(lambda s: export.read(s, item.name))
    except VaultError as exc:
        tab.notify(visible(exc), title="Cannot copy", severity="error", markup=False)
        return
    tab.app.copy_to_clipboard(pem.decode("ascii"))
    what = export.what.split(" (")[0]
    tab.notify(
        f"Copied the {visible(what)} of {visible(item.name, multiline=False)} as PEM.",
        markup=False,
    )


async def copy_menu(tab: KindTab, item: Item) -> None:
    """Name, id, URI, App Service reference, az command; the PEM when read."""
    detail = tab.pane.detail
    if detail is not None and detail.item.name != item.name:
        detail = None
    base = detail.item if detail is not None else item
    secret_id = detail.secret_id if isinstance(detail, CertificateDetail) else None
    try:
        choices = copy_choices(base, secret_id=secret_id)
    except VaultError as exc:
        tab.notify(visible(exc), title="Cannot copy", severity="error", markup=False)
        return
    if isinstance(detail, KeyDetail) and detail.public_jwk:
        try:
            pem = key_detail_pem(detail).decode("ascii")
            choices.append(CopyChoice("pem", "Public key (PEM)", pem))
        except VaultError:
            pass
        choices.append(CopyChoice("jwk", "Public key (JWK)", key_detail_jwk(detail)))
    if isinstance(detail, CertificateDetail) and detail.cer:
        choices.append(CopyChoice("pem", "Certificate (PEM)", cer_to_pem(detail.cer).decode()))
    title = f"Copy: {literal(item.name, multiline=False).plain}"
    chosen = await tab.app.push_screen_wait(CopyMenu(choices, title))
    if chosen is None:
        return
    tab.app.copy_to_clipboard(chosen.text)
    tab.notify(f"Copied: {visible(chosen.label)}.", markup=False)


async def versions(tab: KindTab, item: Item) -> None:
    """Every version: the item view's list takes the keys, else a modal shows them."""
    if tab.is_open and tab.item_view.focus_versions():
        return
    current = tab.current_version(item)
    await tab.app.push_screen_wait(
        VersionsScreen(
            tab.session.service,
            item.kind,
            item.name,
            tab.warn_days,
            tab.now,
            current=current,
            clipboard_seconds=tab.clipboard_seconds,
        )
    )


async def save(tab: KindTab, item: Item, fmt: str = "pem") -> None:
    """The public key or certificate to a file (asked where in a modal)."""
    export = KINDS[item.kind].export(fmt)
    if export is None:
        return
    try:
        data = await tab.session.call(lambda s: export.read(s, item.name))
    except VaultError as exc:
        tab.notify(visible(exc), title="Cannot save", severity="error", markup=False)
        return
    default = Path.cwd() / export_filename(item, export.suffix)
    written = await tab.app.push_screen_wait(ExportScreen(default, data, export.what))
    if written is not None:
        tab.notify(
            f"Saved the {visible(export.what)} to {visible(written, multiline=False)}.",
            markup=False,
        )


async def key_operations(tab: KindTab, item: Item) -> None:
    """Encrypt, decrypt, sign, verify, wrap, unwrap with the key's current version."""
    detail = tab.pane.detail
    if not (isinstance(detail, KeyDetail) and detail.item.name == item.name):
        name = item.name
        try:
            detail = await tab.session.call(lambda s: s.get_key_detail(name))
        except VaultError as exc:
            tab.notify(visible(exc), title="Cannot read the key", severity="error", markup=False)
            return
    assert isinstance(detail, KeyDetail)
    name, version = detail.item.name, detail.item.version

    async def run(operation: str, algorithm: str, data: bytes, signature: bytes) -> Outcome:
        return await tab.session.call(
            lambda s: keyops.run(s, name, version, operation, algorithm, data, signature)
        )

    await tab.app.push_screen_wait(KeyOperations(detail, run, tab.clipboard_seconds))


SECRETS_ONLY = frozenset({Kind.SECRETS})
PUBLIC_PARTS = frozenset({Kind.KEYS, Kind.CERTIFICATES})
CERTIFICATES_ONLY = frozenset({Kind.CERTIFICATES})

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "reveal",
        "vault.reveal",
        "r",
        "Reveal",
        "Show the secret's value (hidden again when you move on)",
        reveal,
        kinds=SECRETS_ONLY,
        group="reveal",
    ),
    Operation(
        "copy",
        "vault.copy",
        "c",
        "Copy",
        "Copy the secret's value (cleared later), or the key/certificate as PEM",
        copy,
        group="copy",
    ),
    Operation(
        "copy_menu",
        "vault.copy_menu",
        "y",
        "Copy…",
        "Copy the name, id, URI, App Service reference or az command",
        copy_menu,
    ),
    Operation(
        "versions",
        "vault.versions",
        "v",
        "Versions",
        "Every version of the item, with details",
        versions,
    ),
    Operation(
        "key_operations",
        "vault.key_operations",
        "C",
        "Crypto",
        "Encrypt, decrypt, sign, verify, wrap or unwrap with the key",
        key_operations,
        kinds=frozenset({Kind.KEYS}),
    ),
    Operation(
        "save_pem",
        "vault.save",
        "s",
        "Save PEM",
        "Save the public key or certificate as PEM",
        partial(save, fmt="pem"),
        kinds=PUBLIC_PARTS,
    ),
    Operation(
        "save_cer",
        "vault.save_cer",
        "S",
        "Save CER",
        "Save the certificate as CER (DER)",
        partial(save, fmt="cer"),
        kinds=CERTIFICATES_ONLY,
    ),
    # Certificate administration (kvtui/ui/certificate_admin.py): reads; the writes in
    # their dialogs are hidden in a read-only vault. Pending certificates are not
    # listed, so the pending operation needs no highlighted item.
    Operation(
        "pending",
        "vault.pending",
        "p",
        "Pending operation",
        "A certificate's pending operation: its CSR (copy, save), merge the signed "
        "certificate, cancel or delete it",
        certificate_admin.pending,
        kinds=CERTIFICATES_ONLY,
        needs_item=False,
        show=False,
    ),
    Operation(
        "policy",
        "vault.policy",
        "",
        "Certificate policy",
        "Issuer, subject, SANs, validity, key, lifetime actions, usages; e edits",
        certificate_admin.policy,
        kinds=CERTIFICATES_ONLY,
        show=False,
    ),
    Operation(
        "issuers",
        "vault.issuers",
        "",
        "Certificate issuers",
        "The vault's certificate issuers (CAs): view, add, edit, delete",
        certificate_admin.issuers,
        kinds=CERTIFICATES_ONLY,
        needs_item=False,
        show=False,
    ),
    Operation(
        "contacts",
        "vault.contacts",
        "",
        "Certificate contacts",
        "Who the vault emails about its certificates: view, edit, delete",
        certificate_admin.contacts,
        kinds=CERTIFICATES_ONLY,
        needs_item=False,
        show=False,
    ),
)

WRITES: tuple[Operation, ...] = (
    Operation("new", "vault.new", "n", "New", "Create a secret, key or certificate in this tab",
              writing.new_item, needs_item=False, writes=True),
    Operation("new_version", "vault.new_version", "u", "New version",
              "A new value for the secret, its properties prefilled", writing.new_version,
              kinds=SECRETS_ONLY, writes=True, managed_ok=False),
    Operation("rotate", "vault.rotate", "u", "Rotate",
              "A new version of the key now, as its rotation policy says", writing.rotate,
              kinds=frozenset({Kind.KEYS}), writes=True, managed_ok=False),
    Operation("rotation_policy", "vault.rotation_policy", "", "Rotation policy",
              "View and edit the key's rotation policy: expiry, when to rotate, notify",
              writing.rotation_policy, kinds=frozenset({Kind.KEYS}), writes=True, show=False,
              managed_ok=False),
    Operation("edit", "vault.edit", "e", "Edit", "Edit the properties: enabled, dates, tags",
              writing.edit, writes=True, managed_ok=False),
    Operation("delete", "vault.delete", "d,delete", "Delete",
              "Delete the item (or the marked ones), after a confirmation", writing.delete,
              writes=True, managed_ok=False),
    Operation("deleted", "vault.deleted", "D", "Deleted",
              "Show the tab's deleted items, or the listed ones again", writing.toggle_deleted,
              needs_item=False, view="both", group="toggle"),
    Operation("recover", "vault.recover", "R", "Recover",
              "Recover the deleted item (or the marked ones)", writing.recover, writes=True,
              view="deleted"),
    Operation("purge", "vault.purge", "P", "Purge",
              "Delete for good: type the name to confirm", writing.purge, writes=True,
              view="deleted"),
    Operation("mark", "vault.mark", "space", "Mark",
              "Mark the row: delete, recover, purge, enable, disable act on all marked",
              writing.mark, writes=True, view="both", show=False, group="mark",
              exclusive=False, managed_ok=False),
    Operation("enable", "vault.enable", "plus", "Enable",
              "Enable the item (or the marked ones)", writing.enable, writes=True, show=False,
              managed_ok=False),
    Operation("disable", "vault.disable", "minus", "Disable",
              "Disable the item (or the marked ones)", writing.disable, writes=True, show=False,
              managed_ok=False),
    Operation("backup", "vault.backup", "b", "Backup",
              "Back the item up to a file (only you can read it)", writing.backup, show=False,
              managed_ok=False),
    Operation("restore", "vault.restore", "", "Restore from a backup",
              "Restore an item of this tab from a backup file", writing.restore,
              needs_item=False, writes=True, show=False),
    Operation("edit_policy", "vault.edit_policy", "", "Edit certificate policy",
              "Subject, SANs, validity, key reuse, exportable, content type, lifetime action",
              certificate_admin.edit_policy, kinds=CERTIFICATES_ONLY, writes=True, show=False),
    Operation("import_certificate", "vault.import_certificate", "", "Import a certificate",
              "A PFX or PEM file with its private key, as a certificate",
              certificate_files.import_certificate, kinds=CERTIFICATES_ONLY, needs_item=False,
              writes=True, show=False),
    Operation("download_key", "vault.download_key", "K", "Download with private key",
              "Save the certificate with its private key as PFX or PEM (only you can read it)",
              certificate_files.download_with_key, kinds=CERTIFICATES_ONLY, show=False),
)  # fmt: skip

OPERATIONS = OPERATIONS + WRITES

BY_NAME: Mapping[str, Operation] = {op.name: op for op in OPERATIONS}


def applying(
    kind: Kind, item: Item | None, *, read_only: bool, deleted: bool = False
) -> list[Operation]:
    """The operations the keys offer on this kind and item, in order."""
    return [op for op in OPERATIONS if op.applies(kind, item, read_only=read_only, deleted=deleted)]
