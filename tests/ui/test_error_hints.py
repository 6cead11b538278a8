"""The hint under an error in a tab says what can help: ctrl+r only where retrying can."""

from __future__ import annotations

from kvtui.core.errors import NetworkError, PermissionDenied, TrustFailure, UnknownVault
from kvtui.ui.widgets.error_panel import error_hint


def test_retrying_is_offered_only_where_it_can_help() -> None:
    assert "ctrl+r" in error_hint(PermissionDenied("no list permission"))
    assert "ctrl+r" in error_hint(NetworkError("connection refused"))
    trust = error_hint(TrustFailure("certificate not trusted"))
    assert "--ca-bundle" in trust and "ctrl+r" not in trust
    unknown = error_hint(UnknownVault("no vault named contoso"))
    assert "open another vault" in unknown and "ctrl+r" not in unknown
