"""Error answers the real Azure Key Vault and Microsoft Entra ID gave, quoted from public
sources, as test data for kvtui's error messages (tests/core/test_real_errors.py) and
for the emulator's wording (tests/emulator/test_real_wording.py).

Every case names its source: a repository and path (SDK test recordings, Microsoft
samples and support posts) or an issue thread. Bodies are quoted as the source shows
them, identifiers redacted as the source redacted them (``…``, ``***``, ``x.x.x.x``,
zeros); ``\\r\\n`` is what the service puts between the lines of a message. A field the
source does not show is named in ``inferred`` with the reason.

The REST specs (kv-specs 7.5 and 2025-07-01) hold no error examples, so none come from
there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kvtui.core.errors import Conflict, FirewallDenied, NotFound, PermissionDenied, Throttled

# A caller as the service names it in a 403, identifiers abstracted.
CALLER = r"appid=[^;']*;oid=[^;']*(;numgroups=\d+)?(;iss=[^;'\r\n]*)?(;[a-z_]+=[^;'\r\n]*)*"
VAULT = r"[\w*.-]+;location=[\w…*.-]+"


@dataclass(frozen=True)
class RealVaultError:
    name: str
    source: str
    status: int
    body: dict[str, Any]
    kind: type
    """The VaultError subclass ``classify`` must give."""
    says: tuple[str, ...]
    """Phrases of kvtui's message that tell a person what to do (case-insensitive)."""
    pattern: str
    """A regular expression the service's message matches, identifiers abstracted: the
    emulator's message for the same case must match it too."""
    headers: dict[str, str] = field(default_factory=dict)
    inferred: str = ""

    @property
    def code(self) -> str:
        return str(self.body["error"]["code"])

    @property
    def inner(self) -> str | None:
        inner = self.body["error"].get("innererror")
        return str(inner["code"]) if inner else None

    @property
    def message(self) -> str:
        return str(self.body["error"]["message"])


def _error(code: str, message: str, inner: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner is not None:
        error["innererror"] = {"code": inner}
    return {"error": error}


AZUREOSSD = (
    "azureossd/azureossd.github.io: "
    "_posts/2024-08-27-Troubleshooting-general-secret-issues-on-Container-Apps.md"
)
ZEROS = "00000000-0000-0000-0000-0000000000000"

VAULT_ERRORS: list[RealVaultError] = [
    RealVaultError(
        name="access_policy_get",
        source=AZUREOSSD,
        status=403,
        body=_error(
            "Forbidden",
            f"The user, group or application 'appid={ZEROS};oid={ZEROS};"
            f"iss=https://sts.windows.net/{ZEROS}/' does not have secrets get permission on "
            "key vault 'someakv;location=germanywestcentral'. For help resolving this issue, "
            "please see https://go.microsoft.com/fwlink/?linkid=2125287",
            "AccessDenied",
        ),
        kind=PermissionDenied,
        says=("access policy", "secrets get permission", "vault administrator"),
        pattern=(
            rf"The user, group or application '{CALLER}' does not have (secrets|keys|"
            rf"certificates) \w+ permission on key vault '{VAULT}'\. For help resolving this "
            r"issue, please see https://go\.microsoft\.com/fwlink/\?linkid=2125287"
        ),
    ),
    RealVaultError(
        name="access_policy_list",
        source="turbot/steampipe-plugin-azure issue #127 (message)",
        status=403,
        body=_error(
            "Forbidden",
            "The user, group or application 'appid=…;oid=…;numgroups=2;"
            "iss=https://sts.windows.net/…/' does not have secrets list permission on key "
            "vault 'diskvault001;location=southindia'. For help resolving this issue, please "
            "see https://go.microsoft.com/fwlink/?linkid=2125287",
            "AccessDenied",
        ),
        inferred="code Forbidden: every access-policy 403 body quoted in full has it",
        kind=PermissionDenied,
        says=("access policy", "secrets list permission", "vault administrator"),
        pattern=(
            rf"The user, group or application '{CALLER}' does not have (secrets|keys|"
            rf"certificates) \w+ permission on key vault '{VAULT}'\. For help resolving this "
            r"issue, please see https://go\.microsoft\.com/fwlink/\?linkid=2125287"
        ),
    ),
    RealVaultError(
        name="rbac_get_secret",
        source=AZUREOSSD,
        status=403,
        body=_error(
            "Forbidden",
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, "
            "deny assignments or role definitions were changed recently, please observe "
            f"propagation time.\r\nCaller: appid={ZEROS};oid={ZEROS};"
            f"iss=https://sts.windows.net/{ZEROS}/\r\nAction: "
            "'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nResource: "
            f"'/subscriptions/{ZEROS}/resourcegroups/some-rg/providers/microsoft.keyvault/"
            "vaults/someakv/secrets/somesecret'\r\nAssignment: (not found)\r\n"
            "DenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\n"
            "Vault: someakv;location=eastus\r\n",
            "ForbiddenByRbac",
        ),
        kind=PermissionDenied,
        says=(
            "role",
            "secrets/getSecret/action",
            "Key Vault Secrets User",
            "no role assignment",
            "propagating",
        ),
        pattern=(
            r"Caller is not authorized to perform action on resource\.\r\nIf role "
            r"assignments, deny assignments or role definitions were changed recently, please "
            rf"observe propagation time\.\r\nCaller: {CALLER}\r\nAction: "
            r"'Microsoft\.KeyVault/vaults/[\w/]+'\r\nResource: '/subscriptions/[^']+/"
            r"providers/microsoft\.keyvault/vaults/[^']+'\r\nAssignment: \(not found\)\r\n"
            r"DenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\n"
            rf"Vault: {VAULT}\r\n"
        ),
    ),
    RealVaultError(
        name="rbac_get_secret_terraform",
        source="piyushsachdeva/Terraform_AKS issue #2 (message)",
        status=403,
        body=_error(
            "Forbidden",
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, "
            "deny assignments or role definitions were changed recently, please observe "
            "propagation time.\r\nCaller: appid=…;oid=…;iss=https://sts.windows.net/…/\r\n"
            "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nResource: "
            "'/subscriptions/…/resourcegroups/…/providers/microsoft.keyvault/vaults/…/"
            "secrets/…'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\n"
            "DecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: "
            "test-piyush-kv-1011;location=canadacentral\r\n",
            "ForbiddenByRbac",
        ),
        inferred="code Forbidden: as in every RBAC 403 body quoted in full",
        kind=PermissionDenied,
        says=("role", "secrets/getSecret/action", "Key Vault Secrets User"),
        pattern=(
            r"Caller is not authorized to perform action on resource\.\r\n.*\r\nCaller: "
            rf"{CALLER}\r\nAction: 'Microsoft\.KeyVault/vaults/[\w/]+'\r\n.*"
        ),
    ),
    RealVaultError(
        name="policy_requires_on_behalf_of",
        source="SparebankenVest/azure-key-vault-to-kubernetes issue #232 (message)",
        status=403,
        body=_error(
            "Forbidden",
            "The policy requires the caller 'appid=…;oid=…;iss=https://sts.windows.net/…/' to "
            "use on-behalf-of (OBO) flow. For more information on OBO, please see "
            "https://go.microsoft.com/fwlink/?linkid=2152310",
            "ForbiddenByPolicy",
        ),
        inferred="code Forbidden: as in every 403 body quoted in full",
        kind=PermissionDenied,
        says=("on-behalf-of",),
        pattern=(
            rf"The policy requires the caller '{CALLER}' to use on-behalf-of \(OBO\) flow\. "
            r"For more information on OBO, please see https://go\.microsoft\.com/fwlink/"
            r"\?linkid=2152310"
        ),
    ),
    RealVaultError(
        name="firewall_network_security_perimeter",
        source=AZUREOSSD,
        status=403,
        body=_error(
            "Forbidden",
            "Request was not allowed by NSP rules and the client address is not authorized "
            "and caller was ignored because bypass is set to None\r\nClient address: "
            f"xx.xx.xxx.xx\r\nCaller: appid={ZEROS};oid={ZEROS}\r\n"
            "Vault: someakv;location=westeurope",
            "ForbiddenByFirewall",
        ),
        kind=FirewallDenied,
        says=("firewall", "xx.xx.xxx.xx", "allowed network"),
        pattern=r".*client address is not authorized.*\r\nClient address: [^\r\n]+\r\n.*",
    ),
    RealVaultError(
        name="firewall_not_trusted",
        source="hashicorp/packer-plugin-azure issue #384 (a log that splits the message at "
        "its line breaks; cut by the source after 'Vault: pkrkvztifzt2p81;loca')",
        status=403,
        body=_error(
            "Forbidden",
            "Client address is not authorized and caller is not a trusted service.\r\n"
            "Client address: x.x.x.x from unknown subnet\r\nCaller: "
            "appid=***;oid=29e1fbed-ab6d-4741-8d3f-48590f5943c0;"
            "iss=https://sts.windows.net/***/\r\nVault: pkrkvztifzt2p81;location=…",
            "ForbiddenByFirewall",
        ),
        inferred=(
            "innererror ForbiddenByFirewall and the location: the log shows neither; every "
            "full body with this first line has them"
        ),
        kind=FirewallDenied,
        says=("firewall", "x.x.x.x", "allowed network"),
        pattern=(
            r"Client address is not authorized and caller is not a trusted service\.\r\n"
            rf"Client address: [^\r\n]+\r\nCaller: {CALLER}\r\nVault: {VAULT}"
        ),
    ),
    RealVaultError(
        name="firewall_lines_split_by_lf",
        source="MicrosoftDocs/azure-docs issue #61015 (the resultDescription of the vault's "
        "AzureDiagnostics log for the 403: the same text, its lines split by \\n alone; "
        "identifiers redacted here with …)",
        status=403,
        body=_error(
            "Forbidden",
            "Client address is not authorized and caller is not a trusted service.\n"
            "Client address: 13.69.64.92\nCaller: appid=…;oid=…;iss=https://sts.windows.net/…/;"
            "xms_mirid=/subscriptions/xxxxx/resourcegroups/KV/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/testmi\n"
            "Vault: xxxx;location=westeurope",
            "ForbiddenByFirewall",
        ),
        inferred="the body around the message: the log holds the message only",
        kind=FirewallDenied,
        says=("firewall", "13.69.64.92"),
        pattern=r"Client address is not authorized and caller is not a trusted service\.\n.*",
    ),
    RealVaultError(
        name="public_network_access_disabled",
        source=AZUREOSSD,
        status=403,
        body=_error(
            "Forbidden",
            "Public network access is disabled and request is not from a trusted service "
            f"nor via an approved private link.\r\nCaller: appid={ZEROS};oid={ZEROS};"
            f"iss=https://sts.windows.net/{ZEROS}/;xms_mirid=/subscriptions/{ZEROS}/"
            "resourcegroups/some-rg/providers/Microsoft.App/containerApps/some-app;"
            f"xms_az_rid=/subscriptions/{ZEROS}/resourcegroups/some-rg/providers/"
            "Microsoft.App/containerApps/some-app\r\nVault: someakv;location=southafricanorth",
            "ForbiddenByConnection",
        ),
        kind=FirewallDenied,
        says=("public network access", "private endpoint"),
        pattern=(
            r"Public network access is disabled and request is not from a trusted service "
            rf"nor via an approved private link\.\r\nCaller: {CALLER}\r\nVault: {VAULT}"
        ),
    ),
    RealVaultError(
        name="throttled",
        source="vcsjones/AzureSignTool issue #219 (response headers quoted: no Retry-After)",
        status=429,
        body=_error(
            "Throttled",
            "Request was not processed because too many requests were received. "
            "Reason: VaultRequestTypeLimitReached",
        ),
        kind=Throttled,
        says=("throttling", "wait"),
        pattern=(
            r"Request was not processed because too many requests were received\. "
            r"Reason: \w+"
        ),
    ),
    RealVaultError(
        name="throttled_with_retry_after",
        source="vcsjones/AzureSignTool issue #219 (body); Retry-After as the throttling "
        "guidance documents it (learn.microsoft.com/azure/key-vault/general/"
        "overview-throttling)",
        status=429,
        body=_error(
            "Throttled",
            "Request was not processed because too many requests were received. "
            "Reason: VaultRequestTypeLimitReached",
        ),
        headers={"Retry-After": "7"},
        inferred="the Retry-After header: not in that response",
        kind=Throttled,
        says=("throttling", "retry in 7 s"),
        pattern=(
            r"Request was not processed because too many requests were received\. "
            r"Reason: \w+"
        ),
    ),
    RealVaultError(
        name="deleted_but_recoverable",
        source="Azure/azure-sdk-for-net: "
        "sdk/keyvault/Azure.Security.KeyVault.Secrets/tests/samples/Sample4_ErrorResponse.cs",
        status=409,
        body=_error(
            "Conflict",
            "Secret my-secret is currently in a deleted but recoverable state, and its name "
            "cannot be reused; in this state, the secret can only be recovered or purged.",
            "ObjectIsDeletedButRecoverable",
        ),
        kind=Conflict,
        says=("deleted but recoverable", "az keyvault secret recover", "purge", "another name"),
        pattern=(
            r"(Secret|Key|Certificate) [\w-]+ is currently in a deleted but recoverable "
            r"state, and its name cannot be reused; in this state, the (secret|key|"
            r"certificate) can only be recovered or purged\."
        ),
    ),
    RealVaultError(
        name="deleted_but_recoverable_key",
        source="Azure/azure-sdk-for-cpp: "
        "sdk/keyvault/azure-security-keyvault-keys/test/ut/key_client_delete_test_live.cpp "
        "(GetConflictErrorMsg, the message the live test expects)",
        status=409,
        body=_error(
            "Conflict",
            "Key my-key is currently in a deleted but recoverable state, and its name cannot "
            "be reused; in this state, the key can only be recovered or purged.",
            "ObjectIsDeletedButRecoverable",
        ),
        inferred="code, innererror and the name my-key (the test builds the message)",
        kind=Conflict,
        says=("az keyvault key recover", "az keyvault key purge"),
        pattern=(
            r"(Secret|Key|Certificate) [\w-]+ is currently in a deleted but recoverable "
            r"state, and its name cannot be reused; in this state, the (secret|key|"
            r"certificate) can only be recovered or purged\."
        ),
    ),
    RealVaultError(
        name="secret_not_found",
        source=AZUREOSSD,
        status=404,
        body=_error(
            "SecretNotFound",
            "A secret with (name/id) somesecret/0000000000000000000000000000 was not found in "
            "this key vault. If you recently deleted this secret you may be able to recover "
            "it using the correct recovery command. For help resolving this issue, please "
            "see https://go.microsoft.com/fwlink/?linkid=2125182",
        ),
        kind=NotFound,
        says=("was not found",),
        pattern=(
            r"A (secret|key|certificate) with \(name/id\) [\w/-]+ was not found in this key "
            r"vault\. If you recently deleted this (secret|key|certificate) you may be able "
            r"to recover it using the correct recovery command\. For help resolving this "
            r"issue, please see https://go\.microsoft\.com/fwlink/\?linkid=2125182"
        ),
    ),
    RealVaultError(
        name="deleted_secret_not_found",
        source="Azure/azure-sdk-for-net: sdk/keyvault/Azure.Security.KeyVault.Secrets/tests/"
        "SessionRecords/SecretClientLiveTests/GetDeletedSecretNonExisting.json "
        "(GET /deletedsecrets/1385372551)",
        status=404,
        body=_error(
            "SecretNotFound",
            "A secret with (name/id) 1385372551 was not found in this key vault. If you "
            "recently deleted this secret you may be able to recover it using the correct "
            "recovery command. For help resolving this issue, please see "
            "https://go.microsoft.com/fwlink/?linkid=2125182",
        ),
        kind=NotFound,
        says=("was not found",),
        pattern=(
            r"A (secret|key|certificate) with \(name/id\) [\w/-]+ was not found in this key "
            r"vault\. If you recently deleted this (secret|key|certificate) you may be able "
            r"to recover it using the correct recovery command\. For help resolving this "
            r"issue, please see https://go\.microsoft\.com/fwlink/\?linkid=2125182"
        ),
    ),
]


@dataclass(frozen=True)
class RealAadError:
    name: str
    source: str
    result: dict[str, Any]
    """What msal returns: the token or discovery endpoint's JSON body."""
    code: str
    """The AuthError code ``describe_aad_error`` must give."""
    says: tuple[str, ...]
    pattern: str
    """The description's first line, identifiers abstracted (the emulator's must match)."""
    inferred: str = ""


AAD_ERRORS: list[RealAadError] = [
    RealAadError(
        name="tenant_not_found",
        source="Azure/azure-sdk-for-js: sdk/identity/identity/recordings/node/"
        "environmentcredential/recording_throws_an_authenticationerror_when_gettoken_is_"
        "called_and_environmentcredential_authentication_failed.js (the recorder's sanitizer "
        "replaced the word 'tenant' with the fake tenant id in the text; undone here)",
        result={
            "error": "invalid_tenant",
            "error_description": "AADSTS90002: Tenant '12345678-1234-1234-1234-123456789012' "
            "not found. This may happen if there are no active subscriptions for the tenant. "
            "Check to make sure you have the correct tenant ID. Check with your subscription "
            "administrator.\r\nTrace ID: 52dd626e-7771-44eb-8c84-09b7e4cd1200\r\n"
            "Correlation ID: 80f90d68-d687-4276-8c4d-e764609d8163\r\n"
            "Timestamp: 2021-03-17 03:26:19Z",
            "error_codes": [90002],
            "timestamp": "2021-03-17 03:26:19Z",
            "trace_id": "52dd626e-7771-44eb-8c84-09b7e4cd1200",
            "correlation_id": "80f90d68-d687-4276-8c4d-e764609d8163",
            "error_uri": "https://login.microsoftonline.com/error?code=90002",
        },
        code="tenant",
        says=("--tenant", "not found"),
        pattern=(
            r"AADSTS90002: Tenant '[^']+' not found\. This may happen if there are no active "
            r"subscriptions for the tenant\. Check to make sure you have the correct tenant "
            r"ID\. Check with your subscription administrator\."
        ),
    ),
    RealAadError(
        name="unknown_client_id",
        source="MicrosoftDocs/azure-docs issue #21690",
        result={
            "error": "unauthorized_client",
            "error_description": "AADSTS700016: Application with identifier "
            "'bbe6ea72-3498-452b-9125-787be7a187d4' was not found in the directory 'XXXXXX'. "
            "This can happen if the application has not been installed by the administrator "
            "of the tenant or consented to by any user in the tenant. You may have sent your "
            "authentication request to the wrong tenant.\r\n"
            "Trace ID: a5c936aa-7b30-4f6d-bdd6-c69866950600\r\n"
            "Correlation ID: 539d8a2b-9e25-4c20-ae3d-b8ad6c42e3a5\r\n"
            "Timestamp: 2019-01-04 23:07:41Z",
            "error_codes": [700016],
        },
        inferred="error and error_codes (the thread quotes the description only; the "
        "number is the AADSTS code, the error is the one Entra ID documents for it)",
        code="client_id",
        says=("--client-id",),
        pattern=(
            r"AADSTS700016: Application with identifier '[^']+' was not found in the "
            r"directory '[^']+'\. This can happen if the application has not been installed "
            r"by the administrator of the tenant or consented to by any user in the tenant\. "
            r"You may have sent your authentication request to the wrong tenant\."
        ),
    ),
    RealAadError(
        name="conditional_access_blocked",
        source="Azure/azure-cli issue #32809",
        result={
            "error": "invalid_grant",
            "error_description": "AADSTS53003: Access has been blocked by Conditional Access "
            "policies. The access policy does not allow token issuance. Trace ID: "
            "2f8ccb7a-459e-44fb-b615-232475945800 Correlation ID: "
            "824fc737-3721-428a-adb8-e51aec8c4cce Timestamp: 2026-02-17 18:39:09Z",
            "error_codes": [53003],
        },
        inferred="error and error_codes (the thread quotes the description)",
        code="conditional_access",
        says=("Conditional Access", "compliant device", "administrator"),
        pattern=(
            r"AADSTS53003: Access has been blocked by Conditional Access policies\. The "
            r"access policy does not allow token issuance\."
        ),
    ),
    RealAadError(
        name="device_authentication_required",
        source="Azure/azure-powershell issue #9427",
        result={
            "error": "invalid_grant",
            "error_description": "AADSTS50097: Device authentication is required.\r\n"
            "Trace ID: e0e6689e-7e5d-43b3-be28-a43490025900\r\n"
            "Correlation ID: 01e262f5-9585-45b8-9820-2a12448900fb\r\n"
            "Timestamp: 2019-06-14 08:19:08Z",
            "error_codes": [50097],
        },
        inferred="error and error_codes (the thread quotes the description)",
        code="conditional_access",
        says=("Conditional Access", "managed or compliant device"),
        pattern=r"AADSTS50097: Device authentication is required\.",
    ),
    RealAadError(
        name="device_code_expired",
        source="Azure/azure-cli issue #22251",
        result={
            "error": "expired_token",
            "error_description": "AADSTS70020: The provided value for the input parameter "
            "'device_code' is not valid. This device code has expired.",
            "error_codes": [70020],
        },
        inferred="error (RFC 8628 section 3.5: expired_token) and error_codes",
        code="expired_token",
        says=("expired", "Press r"),
        pattern=(
            r"AADSTS70020: The provided value for the input parameter 'device_code' is not "
            r"valid\. This device code has expired\."
        ),
    ),
]
