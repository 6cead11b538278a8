"""Logging for the full-screen app: one file under the XDG state directory, mode 0600,
never the terminal (a stray line would corrupt the screen). Nothing logs secret values:
the vault service never logs them, and the SDK's HTTP logging stays at WARNING, so no
request or response bodies reach the file. Control and bidirectional characters (a vault's
error message may hold escapes) are written as visible stand-ins, so reading the file in
a terminal (``cat``, ``tail -f``) cannot retitle it, write its clipboard or clear it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from kvtui.core.details import make_visible

#: Loggers that are chatty at INFO (request lines, headers) and add nothing to a user's
#: bug report; their warnings and errors still reach the file.
QUIET = ("azure", "msal", "urllib3", "aiohttp.access", "asyncio")


class VisibleFormatter(logging.Formatter):
    """Log lines (tracebacks included) with every control character but newline and tab
    made visible (``␛``, ``<U+202E>``)."""

    def format(self, record: logging.LogRecord) -> str:
        return make_visible(super().format(record))


def default_log_path() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("kvtui")) / "kvtui.log"


def setup_logging(path: Path | None = None, level: int = logging.INFO) -> Path:
    """Send every log record to ``path`` (created 0600 in a 0700 folder) and nowhere
    else. Returns the path."""
    path = (path or default_log_path()).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(VisibleFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return path
