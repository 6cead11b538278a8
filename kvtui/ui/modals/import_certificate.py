"""The import form: a certificate with its private key from a file, as a new certificate
or a new version of one. Name, file, password, tags, enabled.

- **The file**: a PFX (PKCS#12) or a PEM with the private key and the certificates
  (kvtui/core/certfiles.py tells them apart: PEM by its ``-----BEGIN`` text). As soon as
  the path names a file, the form says which it is; the password row shows for a PFX
  (an empty password is allowed) and for a PEM whose key is encrypted.
- **Checked before sending**: the name as it is typed, like every form; at ``ctrl+s``
  the file is opened with the password (a wrong one, a file without its key, a key
  that belongs to none of the certificates: said above the hint, the form stays open
  with everything typed, the password field focused when the password is wrong).
- The password is masked, never prefilled, logged, or kept after the form closes.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Static

from kvtui.core.certfiles import (
    MAX_FILE,
    PKCS12,
    CertificateFileError,
    ImportFile,
    file_format,
    pem_key_encrypted,
    prepare_import,
)
from kvtui.core.forms import check_name
from kvtui.core.models import Item
from kvtui.core.validation import InvalidValue
from kvtui.ui.modals.export import shown_path
from kvtui.ui.modals.form import WriteForm, row
from kvtui.ui.modals.open_file import read_limited
from kvtui.ui.text import literal

#: What the form sends: the name, the checked file, tags, enabled.
Submit = Callable[[str, ImportFile, dict[str, str], bool], Awaitable[Item]]


def _said(exc: OSError) -> str:
    return f"{exc.strerror}: {exc.filename}" if exc.strerror else str(exc)


class ImportCertificateForm(WriteForm[Item]):
    """Import a certificate (see the module's doc); dismissed with it, or None."""

    title_text = "Import a certificate (PFX or PEM)"
    taken_note = "{name} exists: importing adds a new version of it."

    def __init__(
        self, submit: Submit, now: Callable[[], datetime], taken: set[str] | None = None,
        folder: Path | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.submit = submit
        self.now = now
        self.taken = frozenset(taken or ())
        self.folder = folder if folder is not None else Path.cwd()

    def fields(self) -> ComposeResult:
        yield from self.name_rows()
        start = shown_path(self.folder)
        start = start if start.endswith(os.sep) else start + os.sep
        yield row("File", Input(start, placeholder="./certificate.pfx or ./bundle.pem",
                                id="import-path", compact=True, select_on_focus=False))  # fmt: skip
        note = Static("", id="import-file-note", classes="form-note")
        note.display = False
        yield note
        typed = Input(password=True, id="import-password", compact=True,
                      placeholder="the file's password; empty if none")  # fmt: skip
        password = row("Password", typed)
        password.id = "import-password-row"
        password.display = False
        yield password
        yield from self.property_rows(None, dates=False)

    # -- the file, as its path is typed -------------------------------------------------

    @on(Input.Changed, "#import-path")
    def _path_changed(self, event: Input.Changed) -> None:
        self.look_at(event.value)

    def look_at(self, value: str) -> None:
        """Say what the file is, and ask for its password if it has one."""
        path = Path(os.path.expanduser(value.strip()))
        if not value.strip() or not path.is_file():
            self._note("")
            return
        try:
            data = read_limited(value, MAX_FILE)
        except OSError as exc:
            self._note(_said(exc), bad=True)
            return
        fmt = file_format(data)
        if fmt is None:
            self._note("Not a PFX (PKCS#12) or PEM file.", bad=True)
            self._ask_password(False)
        elif fmt == PKCS12:
            self._note("PFX (PKCS#12): its password below, empty if none.")
            self._ask_password(True)
        elif pem_key_encrypted(data):
            self._note("PEM, its key encrypted: its password below.")
            self._ask_password(True)
        else:
            try:
                said = prepare_import(data).summary()
                bad = False
            except CertificateFileError as exc:
                said, bad = str(exc), True
            self._note(said, bad=bad)
            self._ask_password(False)
        del data

    def _note(self, text: str, *, bad: bool = False) -> None:
        note = self.query_one("#import-file-note", Static)
        note.update(literal(text))
        note.set_class(bad, "-bad")
        note.display = bool(text)

    def _ask_password(self, ask: bool) -> None:
        self.query_one("#import-password-row").display = ask

    # -- saving -------------------------------------------------------------------------

    def gather(self) -> tuple[str, ImportFile, dict[str, str], bool]:
        name = check_name(self.query_one("#form-name", Input).value.strip())
        path = self.query_one("#import-path", Input).value.strip()
        if not path or path.endswith(os.sep):
            raise InvalidValue("Type the file's path: a .pfx or .pem with the private key.")
        try:
            raw = read_limited(path, MAX_FILE)
        except OSError as exc:
            raise InvalidValue(f"File: {_said(exc)}.") from None
        password = self.query_one("#import-password", Input)
        try:
            ready = prepare_import(raw, password.value)
        except CertificateFileError as exc:
            if exc.password:
                self._ask_password(True)
                password.focus()
                password.select_all()  # typing replaces it
            raise
        finally:
            del raw
        tags, enabled, _, _ = self.properties(self.now(), dates=False)
        return name, ready, tags, enabled

    async def write(self, data: tuple[str, ImportFile, dict[str, str], bool]) -> Item:
        name, ready, tags, enabled = data
        self.message(f"Importing {name}…")
        return await self.submit(name, ready, tags, enabled)
