"""The new-certificate form: name, subject, SANs, issuer (self-signed, Unknown for a CSR
signed elsewhere, or an issuer configured in the vault), validity, key, key reuse,
exportable, content type, lifetime action, tags and enabled. A name, ``tab``, a subject
(``CN=…``) and ``ctrl+s`` make a self-signed certificate for 12 months, RSA 2048, PKCS#12,
renewed at 80 % of its life.

- **SANs**: comma-separated; ``email:`` and ``upn:`` mark those kinds, anything else is
  a DNS name.
- **Lifetime action**: ``80%`` of the lifetime, or ``30d`` before expiry.
- **While the vault makes it**, the message counts the seconds; ``esc`` then asks the
  vault to cancel the operation.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Label, Select

from kvtui.core.errors import VaultError
from kvtui.core.forms import check_name
from kvtui.core.validation import InvalidValue, shown
from kvtui.core.writes import KEY_SHAPES, Created, NewCertificate
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.form import WriteForm, row

ISSUERS = (("Self-signed", "Self"), ("Unknown: a CSR to have signed, then merge", "Unknown"))
CONTENT = (("PKCS#12 (.pfx)", "application/x-pkcs12"), ("PEM", "application/x-pem-file"))
ACTIONS = (("Auto-renew", "AutoRenew"), ("Email contacts", "EmailContacts"))
_WHEN = re.compile(r"^\s*(\d{1,3})\s*(%|d)\s*$", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"^\s*[A-Za-z][A-Za-z0-9.]*\s*=\s*\S")


def parse_sans(text: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """DNS names, emails and UPNs from ``a.example.com, email:x@y, upn:u@d``."""
    dns: list[str] = []
    emails: list[str] = []
    upns: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        prefix, colon, rest = part.partition(":")
        kind = prefix.lower() if colon else "dns"
        value = rest.strip() if colon else part
        if kind not in ("dns", "email", "upn") or not value or " " in value:
            raise InvalidValue(
                f"SAN {shown(part)}: write a DNS name, email:NAME@DOMAIN or upn:NAME@DOMAIN."
            )
        {"dns": dns, "email": emails, "upn": upns}[kind].append(value)
    return tuple(dns), tuple(emails), tuple(upns)


def check_subject(subject: str) -> str:
    """An X.500 name, ``CN=www.example.com, O=Contoso``; empty is allowed with SANs."""
    if subject and not all(_ATTRIBUTE.match(p) for p in subject.split(",")):
        raise InvalidValue(
            f"Subject {shown(subject)} is not a distinguished name: write CN=www.example.com "
            "(more parts after commas: O=Contoso, C=GB)."
        )
    return subject


def parse_lifetime(text: str) -> tuple[int | None, int | None]:
    """``80%`` → (80, None); ``30d`` → (None, 30)."""
    match = _WHEN.match(text or "80%")
    if not match:
        raise InvalidValue("When: write 80% (of the lifetime) or 30d (before it expires).")
    number, unit = int(match.group(1)), match.group(2)
    if unit == "%":
        if not 1 <= number <= 99:
            raise InvalidValue("When: a percentage of the lifetime is 1% to 99%.")
        return number, None
    return None, number


class CertificateForm(WriteForm[Created]):
    """A new certificate (see the module's doc); dismissed with how the create ended."""

    DEFAULT_CSS = """
    CertificateForm {
        .form-row > #cert-when { width: 1fr; }
        .form-row > #cert-action { width: 2fr; }
        #cert-flags { height: auto; width: 1fr; }
        .form-row > #cert-months { width: 8; }
        .form-row > #cert-months-unit { width: auto; color: $text; }
        #cert-flags > Checkbox { width: auto; margin-right: 2; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form.cancel",
                tooltip="Close without saving; while the vault works: cancel its operation"),
    ]  # fmt: skip

    title_text = "New certificate"
    taken_note = "{name} exists: saving makes a new version of it, with this policy."

    def __init__(
        self,
        submit: Callable[[str, NewCertificate], Awaitable[Created]],
        cancel: Callable[[str], Awaitable[bool]],
        issuers: Callable[[], Awaitable[list[str]]],
        now: Callable[[], datetime],
        taken: set[str] | None = None,
    ) -> None:
        super().__init__()
        self.submit = submit
        self.cancel_operation = cancel
        self.read_issuers = issuers
        self.now = now
        self.taken = frozenset(taken or ())
        self._started = 0.0
        self._ticker: Timer | None = None
        self.pending_name = ""

    def fields(self) -> ComposeResult:
        yield from self.name_rows()
        yield row("Subject", Input(placeholder="CN=www.example.com", id="cert-subject",
                                   compact=True))  # fmt: skip
        yield row("SANs", Input(placeholder="a.example.com, email:x@example.com, upn:u@x.com",
                                id="cert-sans", compact=True))  # fmt: skip
        yield row("Issuer", Select(ISSUERS, value="Self", allow_blank=False, id="cert-issuer",
                                   compact=True))  # fmt: skip
        yield row("Valid for", Input("12", placeholder="1-120", id="cert-months",
                                     compact=True, restrict=r"\d{0,3}"),
                  Label("months", id="cert-months-unit"))  # fmt: skip
        yield row("Key", Select([(s, s) for s in KEY_SHAPES], value=KEY_SHAPES[0],
                                allow_blank=False, id="cert-key", compact=True))  # fmt: skip
        yield row("Key options", Horizontal(
            Checkbox("exportable", True, id="cert-exportable", compact=True),
            Checkbox("reuse key on renewal", False, id="cert-reuse", compact=True),
            id="cert-flags"))  # fmt: skip
        yield row("Content type", Select(CONTENT, value=CONTENT[0][1], allow_blank=False,
                                         id="cert-content", compact=True))  # fmt: skip
        yield row("Lifetime", Select(ACTIONS, value="AutoRenew", allow_blank=False,
                                     id="cert-action", compact=True),
                  Input("80%", placeholder="80% or 30d", id="cert-when", compact=True))  # fmt: skip
        yield from self.property_rows(None, dates=False)

    def on_mount(self) -> None:
        super().on_mount()
        self._issuers()

    @work(exclusive=True, group="cert-issuers", exit_on_error=False)
    async def _issuers(self) -> None:
        """Add the vault's configured issuers to the list (none readable: the two)."""
        try:
            names = await self.read_issuers()
        except VaultError:
            return
        if names:
            options = list(ISSUERS) + [(f"Issuer {n}", n) for n in names]
            select = self.query_one("#cert-issuer", Select)
            value = select.value
            select.set_options(options)
            select.value = value

    def gather(self) -> tuple[str, NewCertificate]:
        name = check_name(self.query_one("#form-name", Input).value.strip())
        subject = check_subject(self.query_one("#cert-subject", Input).value.strip())
        dns, emails, upns = parse_sans(self.query_one("#cert-sans", Input).value)
        if not subject and not (dns or emails or upns):
            raise InvalidValue("Type a subject (CN=…) or at least one SAN.")
        months_text = self.query_one("#cert-months", Input).value.strip() or "12"
        months = int(months_text)
        if not 1 <= months <= 120:
            raise InvalidValue("Validity: 1 to 120 months.")
        percentage, days = parse_lifetime(self.query_one("#cert-when", Input).value)
        tags, enabled, _, _ = self.properties(self.now(), dates=False)
        new = NewCertificate(
            subject=subject,
            issuer=str(self.query_one("#cert-issuer", Select).value),
            dns_names=dns,
            emails=emails,
            upns=upns,
            validity_months=months,
            shape=str(self.query_one("#cert-key", Select).value),
            reuse_key=self.query_one("#cert-reuse", Checkbox).value,
            exportable=self.query_one("#cert-exportable", Checkbox).value,
            content_type=str(self.query_one("#cert-content", Select).value),
            action=str(self.query_one("#cert-action", Select).value),
            percentage=percentage,
            days_before=days,
            enabled=enabled,
            tags=tags or None,
        )
        return name, new

    async def write(self, data: tuple[str, NewCertificate]) -> Created:
        name, new = data
        self.pending_name = name
        self._started = asyncio.get_running_loop().time()
        self._ticker = self.set_interval(1.0, self._tick)
        self._tick()
        try:
            return await self.submit(name, new)
        finally:
            self._ticker.stop()
            self._ticker = None

    def _tick(self) -> None:
        seconds = asyncio.get_running_loop().time() - self._started
        self.message(
            f"The vault is making {self.pending_name}… {seconds:.0f} s. esc asks it to cancel."
        )

    async def leave(self) -> None:
        if not self._busy:
            await super().leave()
            return
        name = self.pending_name
        if not await self.app.push_screen_wait(
            ConfirmDialog(
                f"Cancel creating {name}?",
                ["The vault is asked to stop the operation; it may already be done."],
                "Cancel it",
                danger=False,
            )
        ):
            return
        try:
            await self.cancel_operation(name)
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        self.message(f"Cancellation of {name} requested; waiting for the vault…", "warning")
