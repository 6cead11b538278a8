"""The per-kind table of operations (kvtui/ui/operations.py), without an app: which keys
apply to which kind, that the vault screen's bindings are made from it, and that
``--read-only`` hides every operation that writes (issue 9's create, delete, ... are
one entry each)."""

from __future__ import annotations

from textual.binding import Binding

from kvtui.core.models import Item, Kind
from kvtui.ui.keys import class_bindings
from kvtui.ui.operations import BY_NAME, OPERATIONS, Operation, applying
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.kind_tab import KindTab


async def _nothing(tab: KindTab, item: Item) -> None:
    return None


def names(kind: Kind, *, item: bool = True, read_only: bool = False) -> list[str]:
    listed = Item(kind=kind, name="x", id=f"https://v.example/{kind.value}/x")
    return [op.name for op in applying(kind, listed if item else None, read_only=read_only)]


WRITING = ["edit", "delete", "deleted", "mark", "enable", "disable", "backup", "restore"]


def test_each_kind_offers_its_own_operations() -> None:
    assert names(Kind.SECRETS) == [
        "reveal", "copy", "copy_menu", "versions", "new", "new_version", *WRITING
    ]  # fmt: skip
    assert names(Kind.KEYS) == [
        "copy", "copy_menu", "versions", "key_operations", "save_pem", "new", "rotate",
        "rotation_policy", *WRITING
    ]  # fmt: skip
    assert names(Kind.CERTIFICATES) == [
        "copy", "copy_menu", "versions", "save_pem", "save_cer", "pending", "policy",
        "issuers", "contacts", "new", *WRITING, "edit_policy", "import_certificate",
        "download_key",
    ]  # fmt: skip
    assert names(Kind.CERTIFICATES, item=False) == [
        "pending", "issuers", "contacts", "new", "deleted", "restore", "import_certificate"
    ]  # fmt: skip
    # No row highlighted: only what needs no item (new, the deleted view, restore).
    assert names(Kind.SECRETS, item=False) == ["new", "deleted", "restore"]
    assert names(Kind.KEYS, item=False) == ["new", "deleted", "restore"]


def test_the_deleted_view_offers_recover_and_purge() -> None:
    gone = Item(kind=Kind.SECRETS, name="x", id="https://v.example/secrets/x")
    ops = applying(Kind.SECRETS, gone, read_only=False, deleted=True)
    assert [op.name for op in ops] == ["deleted", "recover", "purge", "mark"]
    ops = applying(Kind.SECRETS, gone, read_only=True, deleted=True)
    assert [op.name for op in ops] == ["deleted"]  # read-only: look, never touch


def test_the_screen_binds_every_operation_by_its_keymap_id() -> None:
    bindings: dict[str, list[Binding]] = {}
    for b in class_bindings(VaultScreen):
        if b.id:
            bindings.setdefault(b.id, []).append(b)
    assert len({op.name for op in OPERATIONS}) == len(OPERATIONS)
    for op in OPERATIONS:
        if not op.key:  # restore: in the palette only
            assert op.binding_id not in bindings
            continue
        bound = bindings[op.binding_id]
        assert {b.action for b in bound} == {f"op('{op.name}')"}
        assert [b.key for b in bound] == op.key.split(",")  # delete: d and the Delete key
        assert BY_NAME[op.name] is op


def test_read_only_hides_every_operation_that_writes() -> None:
    delete = Operation("delete", "vault.delete", "d", "Delete", "Delete it", _nothing, writes=True)
    create = Operation(
        "create", "vault.create", "n", "New", "Create one", _nothing, writes=True, needs_item=False
    )
    item = Item(kind=Kind.SECRETS, name="x", id="https://v.example/secrets/x")
    assert delete.applies(Kind.SECRETS, item, read_only=False)
    assert not delete.applies(Kind.SECRETS, item, read_only=True)
    assert not delete.applies(Kind.SECRETS, None, read_only=False)
    assert create.applies(Kind.KEYS, None, read_only=False)
    assert not create.applies(Kind.KEYS, None, read_only=True)
    # Reading stays on in read-only mode; every write of the table goes.
    assert names(Kind.SECRETS, read_only=True) == [
        "reveal", "copy", "copy_menu", "versions", "deleted", "backup"
    ]  # fmt: skip
    assert all(not op.applies(Kind.SECRETS, item, read_only=True) for op in OPERATIONS if op.writes)
