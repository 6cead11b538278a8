"""A certificate's policy: what the vault uses for its next version (a renewal, a new
version): issuer, subject, SANs, validity, key, reuse, exportable, content type,
lifetime actions, key usage, EKUs.

``PolicyScreen`` shows it (``get_certificate_policy``); ``e`` edits it (not in a
read-only vault). ``PolicyForm`` edits the subject, SANs, validity, key reuse,
exportable, content type and the lifetime action, typed as in the new-certificate form
(its own checks: :func:`~kvtui.ui.modals.certificate_form.check_subject`,
:func:`~kvtui.ui.modals.certificate_form.parse_sans`,
:func:`~kvtui.ui.modals.certificate_form.parse_lifetime`); the rest of the policy is
sent as it was. The current certificate does not change: the policy applies from the
next version on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from azure.keyvault.certificates import CertificatePolicy
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, Input, Label, Select, Static

from kvtui.core.certificates import (
    PolicyEdit,
    lifetime_field,
    policy_edit,
    policy_sections,
    sans_field,
)
from kvtui.core.errors import VaultError
from kvtui.core.validation import InvalidValue
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.modals.certificate_form import (
    ACTIONS,
    CONTENT,
    check_subject,
    parse_lifetime,
    parse_sans,
)
from kvtui.ui.modals.form import WriteForm, row
from kvtui.ui.modals.rows import SectionsView
from kvtui.ui.text import literal

Read = Callable[[], Awaitable[CertificatePolicy]]
Save = Callable[[CertificatePolicy, PolicyEdit], Awaitable[CertificatePolicy]]


class PolicyForm(WriteForm[CertificatePolicy]):
    """Edit a certificate's policy (see the module's doc); dismissed with the policy
    the vault now has, or None."""

    DEFAULT_CSS = """
    PolicyForm {
        .form-row > #policy-when { width: 1fr; }
        .form-row > #policy-action { width: 2fr; }
        #policy-flags { height: auto; width: 1fr; }
        .form-row > #policy-months { width: 8; }
        .form-row > #policy-months-unit { width: auto; color: $text; }
        #policy-flags > Checkbox { width: auto; margin-right: 2; }
    }
    """

    def __init__(self, name: str, current: CertificatePolicy, save: Save) -> None:
        super().__init__()
        self.certificate = name
        self.title_text = f"Policy of {name}"
        self.current = current
        self.save_policy = save

    def fields(self) -> ComposeResult:
        edit = policy_edit(self.current)
        yield row("Subject", Input(edit.subject, placeholder="CN=www.example.com",
                                   id="policy-subject", compact=True))  # fmt: skip
        sans = "a.example.com, email:x@example.com, upn:u@x.com"
        yield row("SANs", Input(sans_field(edit), id="policy-sans", compact=True, placeholder=sans))
        yield row("Valid for", Input(str(edit.validity_months), placeholder="1-120",
                                     id="policy-months", compact=True, restrict=r"\d{0,3}"),
                  Label("months", id="policy-months-unit"))  # fmt: skip
        yield row("Key options", Horizontal(
            Checkbox("exportable", edit.exportable, id="policy-exportable", compact=True),
            Checkbox("reuse key on renewal", edit.reuse_key, id="policy-reuse", compact=True),
            id="policy-flags"))  # fmt: skip
        content = [value for _, value in CONTENT]
        yield row("Content type", Select(CONTENT, allow_blank=False, id="policy-content",
                                         value=edit.content_type if edit.content_type in content
                                         else CONTENT[0][1], compact=True))  # fmt: skip
        actions = [value for _, value in ACTIONS]
        action = edit.action if edit.action in actions else ACTIONS[0][1]
        yield row("Lifetime", Select(ACTIONS, value=action, allow_blank=False,
                                     id="policy-action", compact=True),
                  Input(lifetime_field(edit), placeholder="80% or 30d", id="policy-when",
                        compact=True))  # fmt: skip
        kept = Text("Kept as they are: the issuer, key type and size, key usages, EKUs. ")
        kept.append("The current certificate does not change: the policy applies from "
                    "its next version on.")  # fmt: skip
        yield Static(kept, classes="form-note")

    def on_mount(self) -> None:
        super().on_mount()
        # The prefilled fields announce themselves as changed once mounted: not typing.
        self.call_after_refresh(self._untyped)

    def _untyped(self) -> None:
        self._typed = False

    def gather(self) -> PolicyEdit:
        subject = check_subject(self.query_one("#policy-subject", Input).value.strip())
        dns, emails, upns = parse_sans(self.query_one("#policy-sans", Input).value)
        if not subject and not (dns or emails or upns):
            raise InvalidValue("Type a subject (CN=…) or at least one SAN.")
        months_text = self.query_one("#policy-months", Input).value.strip() or "12"
        months = int(months_text)
        if not 1 <= months <= 120:
            raise InvalidValue("Validity: 1 to 120 months.")
        percentage, days = parse_lifetime(self.query_one("#policy-when", Input).value)
        return PolicyEdit(
            subject=subject,
            dns_names=dns,
            emails=emails,
            upns=upns,
            validity_months=months,
            reuse_key=self.query_one("#policy-reuse", Checkbox).value,
            exportable=self.query_one("#policy-exportable", Checkbox).value,
            content_type=str(self.query_one("#policy-content", Select).value),
            action=str(self.query_one("#policy-action", Select).value),
            percentage=percentage,
            days_before=days,
        )

    async def write(self, data: PolicyEdit) -> CertificatePolicy:
        return await self.save_policy(self.current, data)


class PolicyScreen(Dialog[bool]):
    """A certificate's policy; dismissed with True when it was edited."""

    DEFAULT_CSS = """
    PolicyScreen {
        #policy { width: 90; max-width: 100%; height: auto; max-height: 100%; }
        #policy-body { height: auto; max-height: 1fr; }
        #policy-message { height: auto; margin-bottom: 1; }
        &.-short #policy-message { margin-bottom: 0; }
        #policy-message.-error { color: $text-error; }
    }
    """

    HELP = KeyedHelp(
        """\
## Certificate policy

What the vault uses for the certificate's next version (a renewal, a new version).
**{policy.reload}** reads it again, **{policy.close}** closes.
""",
        writes="""
**{policy.edit}** edits the subject, SANs, validity, key reuse, exportable, content type
and lifetime action.
""",
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Edit", id="policy.edit", tooltip="Edit the policy"),
        Binding("ctrl+r", "reload", "Reload", id="policy.reload", tooltip="Read it again"),
        Binding("escape", "close", "Close", id="policy.close", tooltip="Close"),
    ]

    def __init__(self, name: str, read: Read, save: Save | None) -> None:
        super().__init__()
        self.certificate = name
        self.read = read
        self.save = save
        self.read_only = save is None
        self.policy: CertificatePolicy | None = None
        self.changed = False

    def compose(self) -> ComposeResult:
        with Vertical(id="policy", classes="dialog"):
            title = f"Policy of {self.certificate}"
            yield Static(literal(title, multiline=False), classes="dialog-title")
            with VerticalScroll(id="policy-body"):
                yield Static("", id="policy-message")
                yield SectionsView(id="policy-rows")
            yield Static("", id="policy-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self.message("Reading the policy…")
        self.query_one("#policy-body").focus()
        self._hint()
        self._load()

    @work(exclusive=True, group="policy-read", exit_on_error=False)
    async def _load(self, said: str = "") -> None:
        try:
            policy = await self.read()
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        self.policy = policy
        self.query_one("#policy-rows", SectionsView).show(policy_sections(policy))
        self.message(said)
        self._hint()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit":
            return self.save is not None and self.policy is not None
        return True

    def _hint(self) -> None:
        parts = ["{policy.edit} edit"] if self.check_action("edit", ()) else []
        parts += ["{policy.reload} reload", "esc close"]
        self.query_one("#policy-hint", Static).update(Text(with_keys(self, " · ".join(parts))))

    def message(self, text: str, tone: str = "") -> None:
        message = self.query_one("#policy-message", Static)
        message.update(literal(text))
        message.display = bool(text)
        message.set_class(tone == "error", "-error")

    @work(exclusive=True, group="policy-edit", exit_on_error=False)
    async def action_edit(self) -> None:
        if self.save is None or self.policy is None:
            return
        saved = await self.app.push_screen_wait(
            PolicyForm(self.certificate, self.policy, self.save)
        )
        if saved is None:
            return
        self.changed = True
        self._load("Saved. The next version of the certificate follows it.")

    def action_reload(self) -> None:
        self._load()

    def action_close(self) -> None:
        self.dismiss(self.changed)
