"""``kvtui demo``: the bundled emulator in this process, and the app against it.

The emulator's state (CA, signing key, directory with its refresh tokens, vault data)
and a token cache of the demo's own live in ``<user data dir>/kvtui/demo``, so a second
``kvtui demo`` signs in silently, as a real second start would; ``--fresh`` starts over.
The user's real token cache is never touched. The identity/ARM port is remembered too:
msal keys its cached accounts by authority host:port.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from kvtui.core.config import Settings
from kvtui.emulator import EmulatorInfo, EmulatorSettings, EmulatorThread

log = logging.getLogger("kvtui.demo")

DEMO_VAULT = "demo"
APPROVE_DELAY = 3.0
#: msal polls the token endpoint every ``interval`` seconds (Azure says 5): 1 s here, so
#: the demo continues within a second of the automatic approval.
POLL_INTERVAL = 1


def default_demo_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("kvtui")) / "demo"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Demo:
    """The demo emulator and the settings pointing the app at it."""

    def __init__(self, demo_dir: Path | None = None, *, fresh: bool = False) -> None:
        self.dir = demo_dir or default_demo_dir()
        if fresh and self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ports_file = self.dir / "demo.json"
        self.thread: EmulatorThread | None = None

    def _emulator_settings(self, port: int) -> EmulatorSettings:
        return EmulatorSettings(
            vaults=[DEMO_VAULT],
            seed="demo",
            approve="auto",
            approve_delay=APPROVE_DELAY,
            state_dir=self.dir / "emulator",
            persist=True,
            port=port,
        )

    def start(self) -> EmulatorInfo:
        """Start the emulator on the port used last time, else on free ports."""
        last = int(_read_json(self.ports_file).get("port") or 0)
        for port in dict.fromkeys([last, 0]):
            settings = self._emulator_settings(port)
            thread = EmulatorThread(settings)
            try:
                info = thread.start()
            except OSError as exc:
                log.info("demo emulator: port %s busy (%s); trying free ports", port, exc)
                settings.persist = False  # never save a half-started emulator's data
                thread.stop()
                continue
            self.thread = thread
            self._poll_faster(info)
            authority_port = int(info.authority.split(":")[2].split("/")[0])
            self.ports_file.write_text(json.dumps({"port": authority_port}), encoding="utf-8")
            return info
        raise OSError("the demo emulator could not start on any port")

    @staticmethod
    def _poll_faster(info: EmulatorInfo) -> None:
        from kvtui.core.auth import http_session

        with http_session(info.ca_bundle) as http:
            http.trust_env = False  # loopback: never through a proxy
            http.patch(
                f"{info.admin_url}/identity/settings",
                json={"interval": POLL_INTERVAL},
                headers=info.admin_headers(),
                timeout=10,
            ).raise_for_status()

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.stop()  # persists the vaults' data
            self.thread = None

    def settings(self, info: EmulatorInfo, base: Settings | None = None) -> Settings:
        """The app's settings against the emulator: its authority, CA, client and vault,
        and a token cache of the demo's own."""
        s = base or Settings()
        s.authority = info.authority
        s.ca_bundle = info.ca_bundle
        s.client_id = info.client_id
        s.arm_url = info.arm_url
        s.vault = info.vaults[DEMO_VAULT]
        s.cloud = "public"
        s.token_cache = str(self.dir / "token_cache.bin")
        return s

    @property
    def state_path(self) -> Path:
        return self.dir / "state.json"


def run_demo(*, fresh: bool = False, demo_dir: Path | None = None) -> int:
    """Run the demo until the app exits; the emulator stops (and saves) afterwards."""
    from kvtui.core.config import load_settings
    from kvtui.logs import setup_logging

    # The user's preferences (config file and KVTUI_* variables: clipboard_clear_seconds,
    # keymap, expiry_warning_days...) apply to the demo too; sign-in, trust and the vault
    # are the emulator's (Demo.settings). A bad config ends the demo before it starts.
    base = load_settings()
    setup_logging()
    demo = Demo(demo_dir, fresh=fresh)
    try:
        info = demo.start()
    except OSError as exc:
        import sys

        print(f"kvtui demo: the emulator cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        from kvtui.ui.app import KvtuiApp
        from kvtui.ui.launch import build_context

        settings = demo.settings(info, base)
        context = build_context(settings, state_path=demo.state_path, title="kvtui demo")
        KvtuiApp(context).run()
    finally:
        demo.stop()
    return 0
