"""The Azure clouds kvtui knows: one table of authority host, vault DNS suffix and scopes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    name: str
    authority_host: str
    """``https://login...`` without a tenant."""
    vault_suffix: str
    """DNS suffix of vault names: ``name`` becomes ``https://name{suffix}/``."""
    vault_scope: str
    arm_url: str
    arm_scope: str

    title: str = ""
    """For messages: "Azure public cloud"."""

    def vault_url(self, name_or_url: str) -> str:
        """A vault URL from a vault name or URL (a URL is kept, with a trailing slash).
        Raises :class:`kvtui.core.validation.InvalidValue` (a ValueError) for anything
        that is neither a vault name nor an https vault URL."""
        from kvtui.core.validation import vault_url

        return vault_url(name_or_url, self.vault_suffix)


CLOUDS: dict[str, Cloud] = {
    "public": Cloud(
        "public",
        "https://login.microsoftonline.com",
        ".vault.azure.net",
        "https://vault.azure.net/.default",
        "https://management.azure.com/",
        "https://management.azure.com/.default",
        "Azure public cloud",
    ),
    "usgov": Cloud(
        "usgov",
        "https://login.microsoftonline.us",
        ".vault.usgovcloudapi.net",
        "https://vault.usgovcloudapi.net/.default",
        "https://management.usgovcloudapi.net/",
        "https://management.usgovcloudapi.net/.default",
        "Azure US Government",
    ),
    "china": Cloud(
        "china",
        "https://login.chinacloudapi.cn",
        ".vault.azure.cn",
        "https://vault.azure.cn/.default",
        "https://management.chinacloudapi.cn/",
        "https://management.chinacloudapi.cn/.default",
        "Azure China",
    ),
}


def get_cloud(name: str) -> Cloud:
    try:
        return CLOUDS[name]
    except KeyError:
        raise ValueError(f"unknown cloud {name!r}: choose one of {', '.join(CLOUDS)}") from None
