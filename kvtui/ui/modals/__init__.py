"""The vault browser's modals: each a typed ``ModalScreen[T]`` closed only through
``dismiss`` (esc dismisses with None).

- :class:`CopyMenu` -> the :class:`~kvtui.core.references.CopyChoice` picked, or None.
- :class:`VersionsScreen` -> None: every version of an item, with a detail per version.
- :class:`ExportScreen` -> the :class:`~pathlib.Path` written, or None.
"""

from __future__ import annotations

from kvtui.ui.modals.copy_menu import CopyMenu
from kvtui.ui.modals.export import ExportScreen
from kvtui.ui.modals.versions import VersionsScreen

__all__ = ["CopyMenu", "ExportScreen", "VersionsScreen"]
