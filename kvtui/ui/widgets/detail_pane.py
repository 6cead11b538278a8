"""The detail pane of the vault screen: everything about the highlighted item, as text.

It shows the listed :class:`~kvtui.core.models.Item` at once, then the fetched detail
(:class:`~kvtui.core.models.SecretDetail`, ``KeyDetail`` or ``CertificateDetail``) when
it arrives; for a secret, the value masked, or revealed as a
:class:`~kvtui.core.details.ValueView` until the pane is told to mask it again. Every
string from the vault goes through :func:`kvtui.ui.text.literal`: shown literally,
folded when too long for the pane, never parsed as markup.

Usage::

    pane.show_item(item)          # the cursor moved: listed facts, value masked
    pane.show_detail(detail)      # the detail arrived (or pane.show_detail_error(msg))
    pane.show_value(view)         # revealed; pane.mask() hides it again
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import ClassVar

from rich.console import Console, Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from kvtui.core.details import ValueView
from kvtui.core.models import (
    CertificateDetail,
    Item,
    KeyDetail,
    Kind,
    SecretDetail,
    Status,
)
from kvtui.ui.keys import key_for, with_keys
from kvtui.ui.text import literal

__all__ = ["Detail", "DetailPane", "format_time"]

Detail = SecretDetail | KeyDetail | CertificateDetail

MASK = "•" * 12


def format_time(value: datetime | None, now: datetime | None = None) -> str:
    """``2025-06-01 12:00 UTC (in 12 days)``; ``—`` when unset."""
    if value is None:
        return "—"
    utc = value.astimezone(timezone.utc)
    text = utc.strftime("%Y-%m-%d %H:%M UTC")
    t = now or datetime.now(timezone.utc)
    days = (utc - t).total_seconds() / 86_400
    if abs(days) < 1:
        hours = int(abs(days) * 24)
        rel = "within the hour" if hours == 0 else f"{hours} h"
    else:
        rel = f"{int(abs(days))} days"
    if rel == "within the hour":
        return f"{text} ({rel})"
    return f"{text} (in {rel})" if days > 0 else f"{text} ({rel} ago)"


class DetailPane(VerticalScroll, can_focus=True):
    """The facts of one item, its value when revealed, and what went wrong fetching."""

    DEFAULT_CSS = """
    DetailPane {
        background: $surface;
        padding: 0 1;
        & > .detail-pane--label { color: $text-muted; }
        & > .detail-pane--heading { text-style: bold; color: $text-accent; }
        & > .detail-pane--expired { color: $text-error; text-style: bold; }
        & > .detail-pane--expiring { color: $text-warning; text-style: bold; }
        & > .detail-pane--disabled { color: $text-muted; text-style: italic; }
        & > .detail-pane--escape { text-style: reverse; }
        & > .detail-pane--error { color: $text-error; }
        & > .detail-pane--hint { color: $text-muted; text-style: italic; }
        & > Static { width: 1fr; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "detail-pane--label",
        "detail-pane--heading",
        "detail-pane--expired",
        "detail-pane--expiring",
        "detail-pane--disabled",
        "detail-pane--escape",
        "detail-pane--error",
        "detail-pane--hint",
    }

    def __init__(
        self,
        *,
        warn_days: int = 30,
        now: Callable[[], datetime] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``now``: the clock for "in 12 days" and the expiry marks (tests pin it)."""
        super().__init__(name=name, id=id, classes=classes)
        self.warn_days = warn_days
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(timezone.utc))
        self.item: Item | None = None
        self.detail: Detail | None = None
        self.detail_error: str | None = None
        self.value: ValueView | None = None
        self.value_note: str | None = None
        """``"Reading the value…"`` or why it could not be read."""
        self.value_failed = False
        self._body_due = False
        self._show_value_due = False

    def compose(self) -> ComposeResult:
        yield Static(id="detail-body", markup=False)

    # -- public API ---------------------------------------------------------------------

    @property
    def revealed(self) -> bool:
        return self.value is not None

    @property
    def text(self) -> str:
        """What the pane shows, as plain text at its width (kept nowhere)."""
        out = io.StringIO()
        width = max(20, self.scrollable_content_region.width)
        console = Console(file=out, width=width, color_system=None, legacy_windows=False)
        console.print(self._render_body())
        return out.getvalue()

    def show_item(self, item: Item | None) -> None:
        """Another item is highlighted: its listed facts; any revealed value is dropped."""
        self.item = item
        self.detail = None
        self.detail_error = None
        self._drop_value()
        self.scroll_home(animate=False)
        self._refresh_body()

    def show_detail(self, detail: Detail) -> None:
        if self.item is None or detail.item.name != self.item.name:
            return
        self.detail = detail
        self.detail_error = None
        self._refresh_body()

    def show_detail_error(self, message: str) -> None:
        self.detail_error = message
        self._refresh_body()

    def value_loading(self) -> None:
        self._drop_value()
        self.value_note = "Reading the value…"
        self._refresh_body()

    def show_value(self, view: ValueView) -> None:
        """Reveal ``view``, scrolled into sight (in a short pane the value is below the
        heading and the status, out of view)."""
        self.value = view
        self.value_note = None
        self.value_failed = False
        self.set_class(True, "-revealed")
        self._show_value_due = True
        self._refresh_body()

    def show_value_error(self, message: str) -> None:
        self._drop_value()
        self.value_note = message
        self.value_failed = True
        self._refresh_body()

    def mask(self) -> None:
        """Hide a revealed value (its text is dropped, not kept around)."""
        self._drop_value()
        self._refresh_body()

    # -- rendering ----------------------------------------------------------------------

    def _drop_value(self) -> None:
        self.value = None
        self.value_note = None
        self.value_failed = False
        self._show_value_due = False
        self.set_class(False, "-revealed")

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"detail-pane--{name}", partial=True)

    def _refresh_body(self) -> None:
        """Draw the pane again, once, after the next frame: a keystroke or a cursor move
        shows the table first (the pane's Rich table and the layout it needs cost
        10-20 ms), and many changes within a frame draw once."""
        if not self.is_mounted or self._body_due:
            return
        self._body_due = True
        self.call_after_refresh(self._update_body)

    def _update_body(self) -> None:
        self._body_due = False
        if self.is_mounted:
            self.query_one("#detail-body", Static).update(self._render_body())
            if self._show_value_due:
                self._show_value_due = False
                self.call_after_refresh(self._scroll_to_value)

    def _scroll_to_value(self) -> None:
        """Scroll the revealed value's first line into view, with the "Value" heading
        above it when both fit."""
        if self.value is None or not self.is_mounted:
            return
        parts, value_at = self._body_parts()
        if value_at is None:
            return
        section, first = value_at
        width = max(1, self.scrollable_content_region.width)
        height = self.scrollable_content_region.height
        console = self.app.console
        options = console.options.update_width(width)

        def lines(n: int) -> int:
            return len(console.render_lines(Group(*parts[:n]), options, pad=False))

        value_line = lines(first)
        top = int(self.scroll_y)
        if height <= 0 or top <= value_line < top + height:
            return
        heading = lines(section) + 1  # the section starts with a blank line
        y = heading if value_line - heading < height else value_line
        self.scroll_to(y=y, animate=False, immediate=True)

    def _lit(self, value: object, style: Style | str = "") -> Text:
        text = literal(value, style, escape_style=self._style("escape"))
        text.overflow = "fold"
        text.end = "\n"  # a line of its own in the pane's Group
        return text

    def _grid(self, rows: Sequence[tuple[str, Text | str]]) -> Table:
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(style=self._style("label"), no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        for label, value in rows:
            grid.add_row(label, value if isinstance(value, Text) else self._lit(value))
        return grid

    def _render_body(self) -> RenderableType:
        parts, _ = self._body_parts()
        return Group(*parts)

    def _body_parts(self) -> tuple[list[RenderableType], tuple[int, int] | None]:
        """The body, part by part; with the indexes of the value section and of the
        value's first line when a value is revealed."""
        item = self.item
        if item is None:
            return [Text("Nothing highlighted.", style=self._style("hint"))], None
        value_at: tuple[int, int] | None = None
        parts: list[RenderableType] = []
        heading = Text(f"{item.kind.singular} ", style=self._style("label"))
        heading.append_text(self._lit(item.name, self._style("heading")))
        parts.append(heading)
        status = item.status(self.now(), warn_days=self.warn_days)
        if status is Status.EXPIRED:
            parts.append(Text("✖ expired", style=self._style("expired")))
        elif status is Status.EXPIRING:
            parts.append(
                Text(f"⚠ expires within {self.warn_days} days", style=self._style("expiring"))
            )
        elif status is Status.DISABLED:
            parts.append(Text("⊘ disabled", style=self._style("disabled")))
        elif status is Status.NOT_YET_VALID:
            parts.append(Text("◷ not yet valid", style=self._style("expiring")))
        # What the item is for first (where r shows a value), then its attributes.
        if item.kind is Kind.SECRETS:
            section = len(parts)
            value_parts = self._value_parts()
            if self.value is not None:
                value_at = (section, section + len(value_parts) - 1)
            parts.extend(value_parts)
        elif isinstance(self.detail, KeyDetail):
            parts.extend(self._key_parts(self.detail))
        elif isinstance(self.detail, CertificateDetail):
            parts.extend(self._certificate_parts(self.detail))
        elif self.detail is None and not self.detail_error:
            parts.append(Text())
            parts.append(Text("Reading the details…", style=self._style("hint")))
        if self.detail_error:
            parts.append(Text())
            parts.append(self._lit(self.detail_error, self._style("error")))
        shown = self.detail.item if self.detail is not None else item
        parts += self._section("Attributes")
        parts.append(self._grid(self._attribute_rows(shown)))
        return parts, value_at

    def _attribute_rows(self, item: Item) -> list[tuple[str, Text | str]]:
        rows: list[tuple[str, Text | str]] = [("Id", item.id)]
        if item.version:
            rows.append(("Version", item.version))
        rows.append(("Enabled", "yes" if item.enabled else "no"))
        if item.kind is Kind.SECRETS:
            rows.append(("Content type", item.content_type or "—"))
        if isinstance(self.detail, SecretDetail) and self.detail.key_id:
            rows.append(("Certificate key", self.detail.key_id))
        now = self.now()
        rows.append(("Created", format_time(item.created, now)))
        rows.append(("Updated", format_time(item.updated, now)))
        rows.append(("Not before", format_time(item.not_before, now)))
        expires = self._lit(format_time(item.expires, now))
        status = item.status(now, warn_days=self.warn_days)
        if status is Status.EXPIRED:
            expires.stylize(self._style("expired"))
            expires.append("  ✖ expired")
        elif status is Status.EXPIRING:
            expires.stylize(self._style("expiring"))
            expires.append("  ⚠ expiring")
        rows.append(("Expires", expires))
        recovery = item.recovery_level or "—"
        if item.recoverable_days:
            recovery += f" ({item.recoverable_days} days)"
        rows.append(("Recovery", recovery))
        if item.managed:
            rows.append(("Managed", "yes: belongs to a certificate"))
        if item.tags:
            tags = Text(overflow="fold")
            for n, (key, value) in enumerate(sorted(item.tags.items())):
                if n:
                    tags.append("\n")
                tags.append_text(self._lit(key))
                tags.append(" = ", style=self._style("label"))
                tags.append_text(self._lit(value))
            rows.append(("Tags", tags))
        else:
            rows.append(("Tags", "—"))
        return rows

    def _section(self, title: str) -> list[RenderableType]:
        return [Text(), Text(title, style=self._style("heading"))]

    def _key_parts(self, d: KeyDetail) -> list[RenderableType]:
        size = f"{d.key_size} bits" if d.key_size else (d.curve or "—")
        rows: list[tuple[str, Text | str]] = [
            ("Type", d.key_type or "—"),
            ("Size / curve", size),
            ("Operations", ", ".join(d.key_ops) or "—"),
            ("HSM", "yes" if d.hsm else "no"),
            ("Exportable", "yes" if d.exportable else "no"),
            ("Release policy", "yes" if d.release_policy else "no"),
        ]
        parts = [*self._section("Key"), self._grid(rows)]
        if d.public_jwk:
            parts += [*self._section("Public key (JWK)"), self._grid(list(d.public_jwk))]
        parts += self._section("Rotation policy")
        if d.rotation_policy is not None:
            p = d.rotation_policy
            rows = [
                ("Actions", "\n".join(p.actions) or "none"),
                ("New versions expire", p.expires_after or "—"),
            ]
            parts.append(self._grid(rows))
        else:
            parts.append(self._lit(d.rotation_policy_error or "none", self._style("hint")))
        return parts

    def _certificate_parts(self, d: CertificateDetail) -> list[RenderableType]:
        if not d.cer:
            return [
                *self._section("Certificate"),
                Text("No certificate issued yet (pending).", style=self._style("hint")),
            ]
        key = " ".join(
            p for p in (d.key_type, f"{d.key_size} bits" if d.key_size else "", d.curve) if p
        )
        sans = "\n".join(f"{t}: {v}" for t, v in d.sans) or "—"
        rows: list[tuple[str, Text | str]] = [
            ("Subject", d.subject or "—"),
            ("SANs", sans),
            ("Issuer", (d.issuer or "—") + ("  (self-signed)" if d.self_signed else "")),
            ("Serial", d.serial or "—"),
            ("Thumbprint", d.sha1 or "—"),
            ("SHA-256", d.sha256 or "—"),
            ("Valid from", format_time(d.not_before, self.now())),
            ("Valid until", format_time(d.not_after, self.now())),
            ("Key", key or "—"),
            ("Signature", d.signature_algorithm or "—"),
        ]
        parts = [*self._section("Certificate"), self._grid(rows)]
        parts += self._section("Policy")
        if d.policy is not None:
            p = d.policy
            pkey = " ".join(
                x for x in (p.key_type, f"{p.key_size} bits" if p.key_size else "", p.curve) if x
            )

            def yes_no(value: bool | None) -> str:
                return "—" if value is None else ("yes" if value else "no")

            prow: list[tuple[str, Text | str]] = [
                ("Issuer", p.issuer_name or "—"),
                ("Subject", p.subject or "—"),
                ("Key type", pkey or "—"),
                ("Exportable", yes_no(p.exportable)),
                ("Reuse key", yes_no(p.reuse_key)),
                ("Content type", p.content_type or "—"),
                ("Validity", f"{p.validity_months} months" if p.validity_months else "—"),
                ("Lifetime actions", "\n".join(p.lifetime_actions) or "none"),
            ]
            parts.append(self._grid(prow))
        else:
            parts.append(self._lit(d.policy_error or "none", self._style("hint")))
        return parts

    def _value_parts(self) -> list[RenderableType]:
        parts = self._section("Value")
        if self.value is not None:
            view = self.value
            note = view.note or ("plain text" if view.form == "text" else view.form)
            if view.lines > 1 and "lines" not in note:
                note = f"{note}, {view.lines} lines"
            back = key_for(self, "vault.back", "esc")
            parts.append(Text(f"{note} · {back} or moving on hides it", style=self._style("hint")))
            value = self._lit(view.text) if view.text else Text("(empty)", style="italic")
            parts.append(value)
        elif self.value_note is not None:
            style = self._style("error") if self.value_failed else self._style("hint")
            parts.append(self._lit(self.value_note, style))
        else:
            parts.append(Text(MASK))
            hint = "{vault.reveal} reveals · {vault.copy} copies · {vault.copy_menu} copy menu"
            parts.append(Text(with_keys(self, hint), style=self._style("hint")))
        return parts
