"""What each kind of item is read and exported with: one entry per kind instead of an
``if kind is …`` ladder in every function that reads or exports. No Textual.

``KINDS[kind].detail(service, name)`` reads the details the pane shows; ``.pem`` and
``.cer`` are what copy and save export (None: the kind has no such export; a secret's
copy is its value); ``.facts`` fills the table's third column of a listed item from its
details (key type and size, certificate subject). The UI's operations
(:mod:`kvtui.ui.operations`) say which of them each key runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kvtui.core.models import CertificateDetail, Item, KeyDetail, Kind, SecretDetail

if TYPE_CHECKING:  # the SDKs load after the app's first frame
    from kvtui.core.vault import VaultService

Detail = SecretDetail | KeyDetail | CertificateDetail


@dataclass(frozen=True)
class Export:
    """Bytes of an item to copy or save: ``what`` they are ("public key (PEM)") and the
    file name's ``suffix``."""

    what: str
    suffix: str
    read: Callable[[VaultService, str], Awaitable[bytes]]


@dataclass(frozen=True)
class KindOps:
    title: str
    reveals: bool
    """The item has a value to reveal (and copy): a secret."""
    detail: Callable[[VaultService, str], Awaitable[Detail]]
    pem: Export | None = None
    cer: Export | None = None
    facts: Callable[[VaultService, Item], Awaitable[None]] | None = None
    """Reads what the listing lacks for the table's third column into the item."""

    def export(self, fmt: str) -> Export | None:
        return self.cer if fmt == "cer" else self.pem if fmt == "pem" else None


def copy_key_facts(item: Item, detail: KeyDetail) -> None:
    item.key_type = detail.key_type
    item.key_size = detail.key_size
    item.curve = detail.curve
    item.key_ops = detail.key_ops


def fill_facts(item: Item, detail: Detail) -> bool:
    """The table's third column of ``item`` from its detail; True if it changed."""
    if isinstance(detail, KeyDetail) and not item.key_type:
        copy_key_facts(item, detail)
        return True
    if isinstance(detail, CertificateDetail) and not item.subject and detail.subject:
        item.subject = detail.subject
        return True
    return False


def carry_facts(old: list[Item], new: list[Item]) -> None:
    """What was read from the details of an item (key type, subject: the table's third
    column) goes over to the same item in a new listing, when it was not updated since:
    a reload does not blank the column until the details are read again."""
    before = {(i.name, i.updated): i for i in old if i.key_type or i.subject}
    for item in new:
        was = before.get((item.name, item.updated))
        if was is not None and item.updated is not None:
            item.key_type, item.key_size, item.curve = was.key_type, was.key_size, was.curve
            item.key_ops = was.key_ops
            item.subject = was.subject


async def _key_facts(service: VaultService, item: Item) -> None:
    copy_key_facts(item, await service.get_key_detail(item.name))


async def _certificate_facts(service: VaultService, item: Item) -> None:
    item.subject = (await service.get_certificate_detail(item.name)).subject or None


KINDS: Mapping[Kind, KindOps] = {
    Kind.SECRETS: KindOps(
        "Secrets", reveals=True, detail=lambda s, name: s.get_secret_detail(name)
    ),
    Kind.KEYS: KindOps(
        "Keys",
        reveals=False,
        detail=lambda s, name: s.get_key_detail(name),
        pem=Export("public key (PEM)", ".pub.pem", lambda s, name: s.public_key_pem(name)),
        facts=_key_facts,
    ),
    Kind.CERTIFICATES: KindOps(
        "Certificates",
        reveals=False,
        detail=lambda s, name: s.get_certificate_detail(name),
        pem=Export("certificate (PEM)", ".pem", lambda s, name: s.certificate_pem(name)),
        cer=Export("certificate (CER)", ".cer", lambda s, name: s.certificate_cer(name)),
        facts=_certificate_facts,
    ),
}
