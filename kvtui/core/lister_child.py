"""The early listing's child process (``python -m kvtui.core.lister_child``): see
kvtui/core/lister.py. It imports what listing needs and nothing else: not asyncio (the
app's side, kvtui/core/lister.py, has it), which took a quarter of its start-up.

The CLI starts it (:func:`spawn`) as soon as it has read its command line, before it
has even read its settings: the child imports msal and the SDK (a tenth of a second)
meanwhile, then waits for its request on standard input. Standard input closed
without a request: it was not needed, and it ends quietly."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: The child's connection timeout (the app's vault service has the same).
CONNECT_TIMEOUT = 20


@dataclass(frozen=True)
class ListerRequest:
    """What the child needs to sign in and list, as the app would."""

    vault_url: str
    account_id: str
    """The home account id of the account used last, or "": the app signs in silently
    as that account if it is in the token cache, else as the only account there."""
    authority_host: str
    tenant: str
    client_id: str
    token_cache: str | None
    ca_bundle: str | None
    validate_authority: bool
    verify_challenge_resource: bool
    retry_total: int = 3


# -- the child -----------------------------------------------------------------------------


def _say(out: IO[str], line: str) -> None:
    out.write(line + "\n")
    out.flush()


def spawn() -> subprocess.Popen[bytes] | None:
    """The child, started with no request yet (:func:`kvtui.core.lister.start` gives it
    one); None where it would not help (a single core: it would only slow the app's
    start) or cannot start."""
    if (os.cpu_count() or 1) < 2:
        return None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "kvtui.core.lister_child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
    except OSError as exc:
        logging.getLogger("kvtui.core.lister").info("no early listing: %s", exc)
        return None


def child_main(stdin: IO[str], stdout: IO[str]) -> int:
    """List the request's vault on ``stdout`` (see the module's doc)."""
    # What listing needs is imported while the app reads its settings.
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest
    from azure.keyvault.secrets import SecretClient

    from kvtui.core.accounts import cached_accounts
    from kvtui.core.auth import MsalCredential, SignIn
    from kvtui.core.convert import item_from_secret_json, item_to_json
    from kvtui.core.token_cache import open_token_cache

    line = stdin.readline()
    if not line:
        return 0  # not needed after all
    try:
        request = ListerRequest(**json.loads(line))
    except (ValueError, TypeError) as exc:
        _say(stdout, json.dumps({"error": f"bad request: {exc}"}))
        return 1
    try:
        cache = open_token_cache(Path(request.token_cache) if request.token_cache else None)
        accounts = cached_accounts(cache)
        account = next((a for a in accounts if a.home_account_id == request.account_id), None)
        if account is None and len(accounts) == 1:
            account = accounts[0]
        if account is None:
            _say(stdout, json.dumps({"error": "no account to sign in as silently"}))
            return 1
        sign_in = SignIn(
            authority_host=request.authority_host,
            tenant=request.tenant,
            client_id=request.client_id,
            cache=cache,
            ca_bundle=request.ca_bundle,
            validate_authority=request.validate_authority,
        )
        _say(stdout, json.dumps({"account": account.home_account_id}))
        transport = RequestsTransport(
            # Trust and proxies as the app's own client has them: the CA bundle alone
            # when one is given, no proxy from the environment.
            connection_verify=request.ca_bundle or True,
            connection_timeout=CONNECT_TIMEOUT,
            use_env_settings=False,
        )
        client = SecretClient(
            request.vault_url,
            MsalCredential(sign_in, account).blocking(),
            transport=transport,
            verify_challenge_resource=request.verify_challenge_resource,
            retry_total=request.retry_total,
        )
        with client:
            # The SDK's pipeline (challenge, token, retries) without its models: the
            # pages' JSON as the REST API sends it, a nextLink at a time.
            query = {"api-version": client.api_version, "maxresults": 25}
            page_request = HttpRequest("GET", "/secrets", params=query)
            while True:
                response = client.send_request(page_request)
                response.raise_for_status()
                body = response.json()
                items = ",".join(item_to_json(item_from_secret_json(x)) for x in body["value"])
                _say(stdout, '{"page":[' + items + "]}")
                if not body.get("nextLink"):
                    break
                page_request = HttpRequest("GET", body["nextLink"])
        _say(stdout, json.dumps({"done": True}))
        return 0
    except BrokenPipeError:  # the app has gone
        return 1
    except Exception as exc:
        with contextlib.suppress(BrokenPipeError):
            _say(stdout, json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1


if __name__ == "__main__":
    sys.exit(child_main(sys.stdin, sys.stdout))
