"""The vault screen's write actions, each an ``async def (tab, item)`` that
:data:`kvtui.ui.operations.OPERATIONS` binds to a key: new, new version, edit,
delete (and undo), the deleted view, recover, purge, enable, disable, backup, restore.

Each asks in a modal (a form, or a confirm dialog), writes through
``tab.session.call`` (signing in again if the sign-in expired) and kvtui/core/writes.py
(which refuses every write of a read-only vault before sending anything, and keeps the
audit log), then updates the tab in place: no reload.

Marked rows (``space``): delete, recover, purge, enable and disable act on all of
them, after one confirmation that lists them, and say what succeeded and what failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rich.text import Text

from kvtui.core import writes
from kvtui.core.errors import VaultError
from kvtui.core.kinds import KINDS
from kvtui.core.models import Item, Kind
from kvtui.core.present import date_text
from kvtui.core.vault import VaultService
from kvtui.ui.keys import key_for
from kvtui.ui.modals.certificate_form import CertificateForm
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.export import ExportScreen
from kvtui.ui.modals.item_form import FormData, FormSpec, ItemForm, Mode
from kvtui.ui.modals.key_form import KeyForm
from kvtui.ui.modals.open_file import OpenFileScreen
from kvtui.ui.modals.rotation_form import RotationForm
from kvtui.ui.text import literal, visible

if TYPE_CHECKING:
    from kvtui.ui.widgets.kind_tab import KindTab

T = TypeVar("T")

#: A backup file read for a restore: no bigger than this.
MAX_BACKUP = 16 * 1024 * 1024
#: How long after a delete its undo (recover) is offered.
UNDO_SECONDS = 10.0


def _tell(tab: KindTab, text: str, **kwargs: Any) -> None:
    """A notification, every part of it shown literally (names come from the vault)."""
    tab.notify(visible(text), markup=False, **kwargs)


def _name(item: Item) -> str:
    return visible(item.name, multiline=False)


def targets(tab: KindTab, item: Item) -> list[Item]:
    """The marked rows, or else the highlighted one."""
    return tab.table.marked_items or [item]


def _call(tab: KindTab, fn: Callable[[VaultService], Awaitable[T]]) -> Awaitable[T]:
    return tab.session.call(fn)


# -- forms ------------------------------------------------------------------------------


async def _current(tab: KindTab, name: str) -> Item:
    read = KINDS[tab.kind].detail
    detail = await _call(tab, lambda s: read(s, name))
    return detail.item


async def _base(tab: KindTab, item: Item) -> Item | None:
    """The item as it is now (the pane's details if fresh, else read); None if it
    cannot be read (a list-only caller): the form then starts from the listed item."""
    detail = tab.pane.detail
    if detail is not None and detail.item.name == item.name:
        return detail.item
    try:
        return await _current(tab, item.name)
    except VaultError:
        return None


async def new_item(tab: KindTab, item: Item | None) -> None:
    """A new secret, key or certificate, as the tab shows (a name already listed: a
    new version of it)."""
    if tab.kind is Kind.KEYS:
        await new_key(tab)
        return
    if tab.kind is Kind.CERTIFICATES:
        await new_certificate(tab)
        return
    kind = tab.kind

    async def submit(data: FormData) -> Item:
        value = data.value or ""
        return await _call(tab, lambda s: writes.set_secret(s, data.name, value, data.fields))

    async def recover(name: str) -> Item:
        return await _call(tab, lambda s: writes.recover_item(s, kind, name))

    spec = FormSpec(
        kind, "new", submit, tab.now, recover=recover, taken={i.name for i in tab.live_table.items}
    )
    written = await tab.app.push_screen_wait(ItemForm(spec))
    if written is not None:
        tab.written([written], focus=written.name)
        _tell(tab, f"Saved {kind.singular} {_name(written)} (version {written.version}).")


async def new_key(tab: KindTab) -> None:
    """A new key: RSA 2048 with every operation unless the form says otherwise."""

    async def submit(name: str, new: writes.NewKey) -> Item:
        return await _call(tab, lambda s: writes.create_key(s, name, new))

    taken = {i.name for i in tab.live_table.items}
    written = await tab.app.push_screen_wait(KeyForm(submit, tab.now, taken))
    if written is not None:
        tab.written([written], focus=written.name)
        shape = f"{written.key_type or 'key'} {written.key_size or written.curve or ''}".strip()
        _tell(tab, f"Made key {_name(written)}: {shape} (version {written.version}).")


async def new_certificate(tab: KindTab) -> None:
    """A new certificate: self-signed unless the form names an issuer; pending (a CSR
    to merge) for the Unknown issuer."""

    async def submit(name: str, new: writes.NewCertificate) -> writes.Created:
        return await _call(tab, lambda s: writes.create_certificate(s, name, new))

    async def cancel(name: str) -> bool:
        return await _call(tab, lambda s: writes.cancel_certificate_operation(s, name))

    async def issuers() -> list[str]:
        return await _call(tab, lambda s: s.issuer_names())

    taken = {i.name for i in tab.live_table.items}
    form = CertificateForm(submit, cancel, issuers, tab.now, taken)
    created = await tab.app.push_screen_wait(form)
    if created is None:
        return
    if created.item is not None:
        tab.written([created.item], focus=created.item.name)
        _tell(tab, f"Made certificate {_name(created.item)} (version {created.item.version}).")
        return
    name = form.pending_name
    if created.status.lower() == "inprogress":
        pending = key_for(tab, "vault.pending", "p")
        _tell(tab, f"Certificate {visible(name, multiline=False)} is pending: its CSR is ready "
              f"to be signed. {pending} shows it, merges the signed certificate, or "
              "cancels.", timeout=15)  # fmt: skip
        return
    detail = f" {created.detail}" if created.detail else ""
    _tell(tab, f"Certificate {visible(name, multiline=False)} was not made: the operation "
          f"is {created.status}.{detail}", severity="warning", timeout=15)  # fmt: skip


async def rotation_policy(tab: KindTab, item: Item) -> None:
    """View and edit a key's rotation policy."""
    name = item.name
    try:
        current = await _call(tab, lambda s: writes.read_rotation_policy(s, name))
    except VaultError as exc:
        _tell(tab, str(exc), title="Cannot read the rotation policy", severity="error")
        return

    async def submit(fields: writes.RotationFields) -> writes.RotationFields:
        return await _call(tab, lambda s: writes.set_rotation_policy(s, name, fields))

    saved = await tab.app.push_screen_wait(RotationForm(name, current, submit))
    if saved is not None:
        _tell(tab, f"Saved the rotation policy of {_name(item)}.")
        tab.reread_detail()


async def _form_on(
    tab: KindTab, item: Item, mode: Mode, submit: Callable[[FormData], Awaitable[Item]]
) -> Item | None:
    """The form of a new version or an edit of ``item``: prefilled from the item as it
    is now, and checked against it again before writing."""
    name = item.name
    base = await _base(tab, item)
    spec = FormSpec(
        tab.kind,
        mode,
        submit,
        tab.now,
        name=name,
        base=base or item,
        read_current=(lambda: _current(tab, name)) if base is not None else None,
    )
    written = await tab.app.push_screen_wait(ItemForm(spec))
    if written is not None:
        tab.written([written], focus=name)
    return written


async def new_version(tab: KindTab, item: Item) -> None:
    """A new version of a secret: its properties prefilled, never its value."""
    name = item.name

    async def submit(data: FormData) -> Item:
        value = data.value or ""
        return await _call(tab, lambda s: writes.set_secret(s, name, value, data.fields))

    written = await _form_on(tab, item, "version", submit)
    if written is not None:
        _tell(tab, f"New version of {_name(written)}: {written.version}.")


async def rotate(tab: KindTab, item: Item) -> None:
    """A key's new version now (its rotation policy decides type and size), after y."""
    name = item.name
    line = Text("Make a new version of key ")
    line.append_text(literal(name, "bold", multiline=False))
    line.append(" now? The current version stays readable; new operations use the new one.")
    if not await tab.app.push_screen_wait(
        ConfirmDialog(f"Rotate {name}?", [line], "Rotate", danger=False)
    ):
        return
    tab.note(f"Rotating {name}…")
    try:
        rotated = await _call(tab, lambda s: writes.rotate_key(s, name))
    except VaultError as exc:
        tab.update_status()
        _tell(tab, str(exc), title="Cannot rotate", severity="error")
        return
    tab.written([rotated], focus=name)
    _tell(tab, f"Rotated {_name(rotated)}: new version {rotated.version}.")


async def edit(tab: KindTab, item: Item) -> None:
    """The current version's properties (enabled, dates, content type, tags)."""
    name, kind = item.name, tab.kind

    async def submit(data: FormData) -> Item:
        return await _call(tab, lambda s: writes.update_properties(s, kind, name, data.fields))

    if await _form_on(tab, item, "edit", submit) is not None:
        _tell(tab, f"Saved the properties of {_name(item)}.")


# -- several at once --------------------------------------------------------------------


async def _each(
    tab: KindTab,
    items: list[Item],
    verb: str,
    write: Callable[[VaultService, str], Awaitable[T]],
) -> tuple[list[tuple[Item, T]], list[tuple[Item, VaultError]]]:
    """``write`` each item in turn (the status line counts); what worked, what failed."""
    done: list[tuple[Item, T]] = []
    failed: list[tuple[Item, VaultError]] = []
    for n, item in enumerate(items, 1):
        if len(items) > 1:
            tab.note(f"{verb} {n} of {len(items)}: {item.name}…")
        else:
            tab.note(f"{verb} {item.name}…")
        name = item.name
        try:
            done.append((item, await _call(tab, lambda s, name=name: write(s, name))))  # type: ignore[misc]
        except VaultError as exc:
            failed.append((item, exc))
    tab.update_status()
    return done, failed


def _summary(
    tab: KindTab, past: str, done: list[object], failed: list[tuple[Item, VaultError]]
) -> None:
    """What succeeded and what failed, and why, in one message."""
    noun = tab.kind.value if len(done) + len(failed) != 1 else tab.kind.singular
    if not failed:
        if len(done) > 1:
            _tell(tab, f"{past.capitalize()} {len(done)} {noun}.")
        return
    lines = [f"{past.capitalize()} {len(done)} of {len(done) + len(failed)} {noun}."]
    lines += [f"{_name(item)}: {visible(exc)}" for item, exc in failed]
    title = "Failed" if not done else "Partly done"
    _tell(tab, "\n".join(lines), title=title, severity="error", timeout=20)


def _listing(items: list[Item], verb: str, kind: Kind) -> list[Text | str]:
    """What the confirmation acts on: one item on a line, or the marked ones listed."""
    if len(items) == 1:
        line = Text(f"{verb} {kind.singular} ")
        line.append_text(literal(items[0].name, "bold", multiline=False))
        line.append(", every version." if verb in ("Delete", "Purge") else ".")
        return [line]
    lines: list[Text | str] = [f"{verb} {len(items)} {kind.value}:"]
    for item in items[:50]:
        lines.append(literal(f"  {item.name}", "bold", multiline=False))
    if len(items) > 50:
        lines.append(f"  … and {len(items) - 50} more")
    return lines


def recovery_note(item: Item, now: datetime) -> str:
    """What a delete means for ``item``: recoverable for how long, purgeable or not."""
    level = item.recovery_level or ""
    days = item.recoverable_days
    if "Recoverable" not in level:
        return "This vault does not keep deleted items: it is gone for good."
    span = f"for {days} days" if days else "until the vault purges it"
    note = f"Recoverable {span}."
    if "Purgeable" not in level and days:
        until = date_text(now + timedelta(days=days))
        note += f" Purge protection: it cannot be purged before {until}."
    return note


# -- delete and undo ----------------------------------------------------------------------


async def delete(tab: KindTab, item: Item) -> None:
    """Delete the marked items, or the highlighted one, after ``y``."""
    items = targets(tab, item)
    kind = tab.kind
    lines = _listing(items, "Delete", kind)
    lines.append("")
    note = recovery_note(items[0], tab.now())
    if note.startswith("Recoverable"):
        shown, back = key_for(tab, "vault.deleted", "D"), key_for(tab, "vault.recover", "R")
        note += f" {shown} lists the deleted, {back} recovers."
    lines.append(note)
    title = f"Delete {items[0].name}?" if len(items) == 1 else f"Delete {len(items)} {kind.value}?"
    if not await tab.app.push_screen_wait(ConfirmDialog(title, lines, "Delete")):
        return
    done, failed = await _each(
        tab, items, "Deleting", lambda s, name: writes.delete_item(s, kind, name)
    )
    tab.removed([gone.item for _, gone in done])
    names = [i.name for i, _ in done]
    if done:
        tab.offer_undo(names, UNDO_SECONDS)
        undo = key_for(tab, "vault.undo", "ctrl+z")
        what = _name(done[0][0]) if len(done) == 1 else f"{len(done)} {kind.value}"
        _tell(
            tab,
            f"Deleted {what}. {undo} undoes it (recover) for {UNDO_SECONDS:.0f} s.",
            timeout=UNDO_SECONDS,
        )
    _summary(tab, "deleted", [i for i, _ in done], failed)


async def undo_delete(tab: KindTab, names: list[str]) -> None:
    """Recover what was just deleted."""
    kind = tab.kind
    done, failed = await _each(
        tab,
        [Item(kind, n, "") for n in names],
        "Recovering",
        lambda s, name: writes.recover_item(s, kind, name),
    )
    tab.recovered([back for _, back in done])
    if done:
        what = _name(done[0][1]) if len(done) == 1 else f"{len(done)} {kind.value}"
        _tell(tab, f"Recovered {what}.")
    _summary(tab, "recovered", [i for i, _ in done], failed)


# -- the deleted view ---------------------------------------------------------------------


async def toggle_deleted(tab: KindTab, item: Item | None) -> None:
    tab.toggle_deleted()


async def mark(tab: KindTab, item: Item) -> None:
    tab.table.toggle_mark()
    tab.update_status()


async def recover(tab: KindTab, item: Item) -> None:
    """Bring the marked deleted items (or the highlighted one) back, after ``y``."""
    items = targets(tab, item)
    kind = tab.kind
    lines = _listing(items, "Recover", kind)
    title = (
        f"Recover {items[0].name}?" if len(items) == 1 else f"Recover {len(items)} {kind.value}?"
    )
    if not await tab.app.push_screen_wait(ConfirmDialog(title, lines, "Recover", danger=False)):
        return
    done, failed = await _each(
        tab, items, "Recovering", lambda s, name: writes.recover_item(s, kind, name)
    )
    tab.recovered([back for _, back in done])
    if len(done) == 1 and not failed:
        _tell(tab, f"Recovered {_name(done[0][1])}: it is listed again.")
    _summary(tab, "recovered", [i for i, _ in done], failed)


def _protected(item: Item) -> bool:
    level = item.recovery_level or ""
    return "Recoverable" in level and "Purgeable" not in level


async def purge(tab: KindTab, item: Item) -> None:
    """Delete for good, after the user types the name (``y`` alone does nothing)."""
    items = targets(tab, item)
    kind = tab.kind
    protected = [i for i in items if _protected(i)]
    if protected:
        first = protected[0]
        when = date_text(first.purge_scheduled) if first.purge_scheduled else "its scheduled date"
        _tell(
            tab,
            f"Not purged: this vault has purge protection, so {_name(first)} cannot be purged "
            f"by anyone before {when}, when the vault purges it. R recovers it.",
            title="Purge protection",
            severity="warning",
            timeout=15,
        )
        return
    lines = _listing(items, "Purge", kind)
    lines += ["", "A purge cannot be undone: every version is gone for good."]
    typed = items[0].name if len(items) == 1 else f"purge {len(items)} {kind.value}"
    title = f"Purge {items[0].name}?" if len(items) == 1 else f"Purge {len(items)} {kind.value}?"
    if not await tab.app.push_screen_wait(ConfirmDialog(title, lines, "Purge", typed=typed)):
        return
    done, failed = await _each(
        tab, items, "Purging", lambda s, name: writes.purge_item(s, kind, name)
    )
    tab.purged([i.name for i, _ in done])
    if len(done) == 1 and not failed:
        _tell(tab, f"Purged {_name(done[0][0])}.")
    _summary(tab, "purged", [i for i, _ in done], failed)


# -- enable, disable ---------------------------------------------------------------------


async def set_enabled(tab: KindTab, item: Item, enabled: bool) -> None:
    items = targets(tab, item)
    kind = tab.kind
    verb = "Enable" if enabled else "Disable"
    if len(items) > 1:
        lines = _listing(items, verb, kind)
        title = f"{verb} {len(items)} {kind.value}?"
        if not await tab.app.push_screen_wait(ConfirmDialog(title, lines, verb, danger=False)):
            return
    fields = writes.SecretFields(enabled=enabled)
    done, failed = await _each(
        tab,
        items,
        f"{verb[:-1]}ing",
        lambda s, name: writes.update_properties(s, kind, name, fields),
    )
    tab.written([new for _, new in done], focus=None)
    if len(done) == 1 and not failed:
        _tell(tab, f"{verb}d {_name(done[0][1])}.")
    _summary(tab, f"{verb.lower()}d", [i for i, _ in done], failed)


async def enable(tab: KindTab, item: Item) -> None:
    await set_enabled(tab, item, True)


async def disable(tab: KindTab, item: Item) -> None:
    await set_enabled(tab, item, False)


# -- backup and restore -------------------------------------------------------------------


def _backup_name(tab: KindTab, item: Item) -> str:
    vault = tab.session.service.vault_url.split("//")[-1].split(".")[0]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in f"{vault}-{item.name}")
    return f"{safe}.{tab.kind.singular}.backup"


async def backup(tab: KindTab, item: Item) -> None:
    """The item's backup blob to a file (0600; never over a file unasked)."""
    kind, name = tab.kind, item.name
    try:
        blob = await _call(tab, lambda s: writes.backup_item(s, kind, name))
    except VaultError as exc:
        _tell(tab, visible(exc), title="Cannot back up", severity="error")
        return
    default = Path.cwd() / _backup_name(tab, item)
    what = f"backup of {kind.singular} {name}"
    written = await tab.app.push_screen_wait(ExportScreen(default, blob, what, mode=0o600))
    if written is not None:
        _tell(
            tab,
            f"Saved the {visible(what)} to {visible(written, multiline=False)} (readable by you "
            "only). Restore it into a vault of the same subscription.",
        )


async def restore(tab: KindTab, item: Item | None) -> None:
    """An item of this tab's kind from a backup file."""
    kind = tab.kind
    blob = await tab.app.push_screen_wait(
        OpenFileScreen(f"Restore a {kind.singular} from a backup file", Path.cwd(), MAX_BACKUP)
    )
    if blob is None:
        return
    try:
        restored = await _call(tab, lambda s: writes.restore_item(s, kind, blob))
    except VaultError as exc:
        _tell(tab, visible(exc), title="Cannot restore", severity="error")
        return
    tab.written([restored], focus=restored.name)
    _tell(tab, f"Restored {kind.singular} {_name(restored)}.")
