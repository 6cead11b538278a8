"""Which rule, if any, makes a vault read-only: ``read_only`` (``--read-only``,
``KVTUI_READ_ONLY`` or the config file), or a ``read_only_vaults`` pattern that the
vault's name or its URL's host matches. The vault screen hides every write action
then and names the rule on its READ-ONLY badge. No Textual."""

from __future__ import annotations

from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from kvtui.core.config import Settings


def read_only_rule(settings: Settings, vault_url: str, name: str = "") -> str | None:
    """What makes the vault at ``vault_url`` (called ``name``, when known) read-only,
    in words for the badge; None when nothing does.

    A pattern matches the vault's name (``prod-*`` matches ``prod-payments``), its
    host's first label (the name, for an Azure vault URL) or its whole host
    (``*.vault.usgovcloudapi.net``); ``*`` is any characters, ``?`` one, and case does
    not matter."""
    if settings.read_only:
        return settings.read_only_source or "read_only"  # --read-only, KVTUI_READ_ONLY...
    host = (urlsplit(vault_url).hostname or "").lower()
    names = {n for n in (name.lower(), host, host.split(".", 1)[0]) if n}
    for pattern in settings.read_only_vaults:
        if any(fnmatchcase(n, pattern.lower()) for n in names):
            return f"matches {pattern}"
    return None
