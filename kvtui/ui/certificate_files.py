"""The certificates tab's files with a private key, each an ``async def (tab, item)``
that :data:`kvtui.ui.operations.WRITES` binds: import a PFX or PEM (a write, from the
palette), and download a certificate with its private key as PFX or PEM (a read:
allowed read-only; ``K``).

The file work is kvtui/core/certfiles.py's (no Textual): telling PFX from PEM, checking
a file before it is sent, reading the key from the certificate's secret, writing it
again with a new password. A download warns first, then asks the format and password,
then where (a 0600 file, never over another unasked). The key and the passwords live
only as long as these functions run; nothing of them is logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from kvtui.core import certfiles, writes
from kvtui.core.certfiles import PKCS12, ImportFile
from kvtui.core.errors import VaultError
from kvtui.core.models import Item
from kvtui.core.references import export_filename
from kvtui.ui.keys import key_for
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.export import ExportScreen
from kvtui.ui.modals.import_certificate import ImportCertificateForm
from kvtui.ui.modals.key_file import KeyFileDialog
from kvtui.ui.text import literal, visible

if TYPE_CHECKING:
    from kvtui.ui.widgets.kind_tab import KindTab

#: The default file names' endings: a PEM with the key is not the public ``.pem``.
SUFFIXES = {PKCS12: ".pfx", certfiles.PEM: "-with-key.pem"}


def _tell(tab: KindTab, text: str, **kwargs: Any) -> None:
    """A notification, every part of it shown literally (names come from the vault)."""
    tab.notify(visible(text), markup=False, **kwargs)


async def import_certificate(tab: KindTab, item: Item | None) -> None:
    """A certificate with its private key from a PFX or PEM file (a new version when
    the name exists)."""

    async def submit(name: str, ready: ImportFile, tags: dict[str, str], enabled: bool) -> Item:
        return await tab.session.call(
            lambda s: writes.import_certificate(
                s, name, ready.data, ready.password, ready.content_type,
                enabled=enabled, tags=tags or None,
            )
        )  # fmt: skip

    taken = {i.name for i in tab.live_table.items}
    written = await tab.app.push_screen_wait(ImportCertificateForm(submit, tab.now, taken))
    if written is not None:
        tab.written([written], focus=written.name)
        name = visible(written.name, multiline=False)
        _tell(tab, f"Imported certificate {name} (version {written.version}).")


def _warning(name: str) -> list[Text | str]:
    line = Text("This file will hold the private key of ")
    line.append_text(literal(name, "bold", multiline=False))
    line.append(": anyone who can read it can act as this certificate (sign, decrypt, ")
    line.append("serve its sites) until it expires or is revoked.")
    return [
        line,
        "",
        "It is saved readable by you only (0600), never over another file without asking. "
        "Keep it out of shared folders, chats and source control; a password (asked next) "
        "encrypts it.",
    ]


async def download_with_key(tab: KindTab, item: Item) -> None:
    """The certificate with its private key, as PFX or PEM, to a 0600 file."""
    name = item.name
    if not await tab.app.push_screen_wait(
        ConfirmDialog(f"Download {name} with its private key?", _warning(name), "Continue",
                      danger=False)
    ):  # fmt: skip
        return
    tab.note(f"Reading the private key of {name}…")
    try:
        bundle = await tab.session.call(lambda s: certfiles.read_with_key(s, name))
    except VaultError as exc:
        tab.update_status()
        text = str(exc)
        if isinstance(exc, certfiles.NoPrivateKey):
            pem, cer = key_for(tab, "vault.save", "s"), key_for(tab, "vault.save_cer", "S")
            text += f" {pem} saves it as PEM, {cer} as CER."
        _tell(tab, text, title="Cannot download", severity="error", timeout=15)
        return
    tab.update_status()
    choice = await tab.app.push_screen_wait(KeyFileDialog(name, bundle.content_type))
    if choice is None:
        return
    fmt, password = choice
    if fmt == PKCS12:
        data = certfiles.to_pfx(bundle, password, name)
    else:
        data = certfiles.to_pem(bundle, password)
    del bundle, choice
    default = Path.cwd() / export_filename(item, SUFFIXES[fmt])
    what = f"certificate {name} with its private key"
    written = await tab.app.push_screen_wait(ExportScreen(default, data, what, mode=0o600))
    del data
    if written is None:
        return
    locked = "encrypted with your password" if password else "not encrypted: no password"
    del password
    _tell(
        tab,
        f"Saved the {visible(what)} to {visible(written, multiline=False)} (readable by you "
        f"only; the key is {locked}).",
    )
