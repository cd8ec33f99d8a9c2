"""OpenAI's official Python SDK against the emulator, with strict response validation.

Run by tests/acceptance/sdk_contract.rs with the SDK that scripts/install-openai-sdk
pins. Every answer the SDK decodes is validated against the SDK's own models
(`_strict_response_validation=True`): a field missing, of the wrong type or
with an unknown literal fails the test. Errors are checked against the
exception classes and fields the SDK derives from status and body.

Environment:
  EMULATOR_URL          http://ADDR (no trailing slash)
  ADMIN_KEY             the emulator's admin key
  READ_ONLY_ADMIN_KEY   its read-only admin key (--read-only-admin-key)
  WIP_ID, SA_ID         a provider and service account that a Terraform-made mapping binds
                        for tokens with repository=my-org/my-repo, ref=refs/heads/main
  LONELY_SA_ID          a service account of the same project with no mapping
  PROJECT_ID            that project

Prints one `ok <check>` line per check; exits non-zero (with a traceback) on the first failure.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

import openai
from openai import OpenAI

EMU = os.environ["EMULATOR_URL"]
ADMIN_KEY = os.environ["ADMIN_KEY"]
AUDIENCE = "https://api.openai.com/v1"


def ok(check: str) -> None:
    print(f"ok {check}", flush=True)


def admin(key: str = ADMIN_KEY) -> OpenAI:
    # max_retries=0: a retry would hide a status the SDK would retry at OpenAI.
    return OpenAI(admin_api_key=key, base_url=f"{EMU}/v1", _strict_response_validation=True, max_retries=0)


def mint(claims: dict) -> str:
    """A subject token from the emulator's built-in issuer."""
    req = urllib.request.Request(
        f"{EMU}/_emulator/oidc/token",
        data=json.dumps(claims).encode(),
        headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)["token"]


def expect(exc_type: type, call, status: int):
    try:
        call()
    except exc_type as e:
        assert e.status_code == status, (e.status_code, e.body)
        return e
    raise AssertionError(f"expected {exc_type.__name__} {status}")


def providers_round_trip(org) -> None:
    wips = org.workload_identity_providers
    issuer = f"{EMU}/_emulator/oidc"
    made = [
        wips.create(
            name=f"sdk-discovery-{i}",
            issuer=issuer,
            audience=AUDIENCE,
            type="oidc",
            description="made by the SDK contract test",
            verification={"type": "discovery", "discovery_url": None},
            attribute_transformations=[{"attribute": "openai.subject", "expression": "assertion.sub"}],
        )
        for i in range(3)
    ]
    assert made[0].object == "organization.workload_identity_provider"
    assert made[0].verification.type == "discovery" and made[0].verification.discovery_url is None
    assert made[0].attribute_transformations[0].attribute == "openai.subject"
    jwks = {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "n": "sXch", "e": "AQAB"}]}
    uploaded = wips.create(
        name="sdk-uploaded", issuer="https://issuer.example.com", audience=AUDIENCE, type="oidc",
        verification={"type": "uploaded_jwks", "jwks": jwks}, enabled=False,
    )
    assert uploaded.verification.type == "uploaded_jwks" and uploaded.enabled is False
    ok("providers.create (discovery, uploaded_jwks)")

    got = wips.retrieve(made[1].id)
    assert got == made[1], (got, made[1])
    ok("providers.retrieve")

    changed = wips.update(made[1].id, description=None, enabled=False, name="sdk-renamed")
    assert changed.description is None and changed.enabled is False and changed.name == "sdk-renamed"
    ok("providers.update")

    # limit=1: every page is one item, so the SDK's auto-pagination walks them all.
    ids = [p.id for p in wips.list(limit=1, order="asc")]
    for p in [*made, uploaded]:
        assert p.id in ids, (p.id, ids)
    assert len(ids) == len(set(ids)), ids
    page = wips.list(limit=1)
    assert page.has_more is True and len(page.data) == 1
    ok("providers.list with auto-pagination")

    for p in [*made, uploaded]:
        gone = wips.delete(p.id)
        assert gone.deleted is True and gone.id == p.id
        assert gone.object == "organization.workload_identity_provider.deleted"
    e = expect(openai.NotFoundError, lambda: wips.retrieve(made[0].id), 404)
    assert e.body["type"] == "invalid_request_error", e.body
    ok("providers.delete, then 404")


def service_accounts_round_trip(org, project_id: str) -> list[str]:
    sas = org.projects.service_accounts
    made = [sas.create(project_id, name=f"sdk-sa-{i}", create_service_account_only=True) for i in range(3)]
    for sa in made:
        assert sa.role == "none" and sa.api_key is None, sa
    ok("service_accounts.create (create_service_account_only: role none, no key)")

    with_key = sas.create(project_id, name="sdk-sa-keyed", expires_in_seconds=3600,
                          spend_limit={"currency": "USD", "interval": "month", "threshold_amount": 500})
    assert with_key.role == "member" and with_key.api_key is not None
    assert with_key.api_key.object == "organization.project.service_account.api_key"
    assert with_key.api_key.expires_at == with_key.created_at + 3600, with_key.api_key
    assert with_key.api_key.spend_limit is not None
    e = expect(openai.BadRequestError,
               lambda: sas.create(project_id, name="x", create_service_account_only=True, expires_in_seconds=60), 400)
    assert e.body["param"] == "expires_in_seconds", e.body
    ok("service_accounts.create (with a key, expires_in_seconds and spend_limit)")

    owner = sas.update(made[0].id, project_id=project_id, role="owner", name="sdk-sa-owner")
    assert owner.role == "owner" and owner.name == "sdk-sa-owner"
    member = sas.update(made[1].id, project_id=project_id, role="member")
    assert sas.retrieve(made[1].id, project_id=project_id) == member
    ok("service_accounts.update (roles), retrieve")

    ids = [s.id for s in sas.list(project_id, limit=1)]
    for sa in [*made, with_key]:
        assert sa.id in ids, (sa.id, ids)
    ok("service_accounts.list with auto-pagination")

    gone = sas.delete(with_key.id, project_id=project_id)
    assert gone.deleted is True and gone.object == "organization.project.service_account.deleted"
    ok("service_accounts.delete")
    return [sa.id for sa in made]


def projects_round_trip(org) -> None:
    projects = org.projects
    made = projects.create(name="sdk-project", residency="EU_STORAGE_PROCESSING", external_key_id="ek_1")
    assert made.status == "active" and made.residency == "EU_STORAGE_PROCESSING", made
    assert made.external_key_id == "ek_1", made
    legacy = projects.create(name="sdk-geography", geography="EU")
    assert legacy.object == "organization.project"
    e = expect(openai.BadRequestError,
               lambda: projects.create(name="both", residency="GLOBAL", geography="EU"), 400)
    assert e.body["param"] == "geography", e.body
    renamed = projects.update(made.id, name="sdk-project-renamed")
    assert renamed.name == "sdk-project-renamed" and projects.retrieve(made.id) == renamed
    archived = projects.archive(made.id)
    assert archived.status == "archived" and archived.archived_at is not None, archived
    active = [p.id for p in projects.list(limit=1)]
    assert made.id not in active and legacy.id in active, active
    assert made.id in [p.id for p in projects.list(limit=1, include_archived=True)]
    projects.archive(legacy.id)
    ok("projects.create (residency, external_key_id, geography), update, archive, list include_archived")


def rules_round_trip(org, project_id: str, accounts: list[str]) -> None:
    wip = org.workload_identity_providers.create(
        name="sdk-rules", issuer=f"{EMU}/_emulator/oidc", audience=AUDIENCE, type="oidc",
        verification={"type": "discovery", "discovery_url": None},
    )
    rules = org.workload_identity_providers.federation_rules
    default = rules.create(
        wip.id, project_id=project_id, service_account_id=accounts[0],
        attribute_matchers={"repository": "my-org/*", "run_attempt": 1, "protected": True},
        name="sdk-default", description="d",
    )
    assert default.permissions.type == "service_account_default"
    assert default.attribute_matchers == {"repository": "my-org/*", "run_attempt": 1, "protected": True}
    assert default.object == "organization.workload_identity_federation_rule"
    restricted = rules.create(
        wip.id, project_id=project_id, service_account_id=accounts[1],
        attribute_matchers={"sub": "w"},
        permissions={"type": "restricted", "scopes": ["api.model.read", "api.model.request"]},
    )
    assert restricted.permissions.type == "restricted"
    assert restricted.permissions.scopes == ["api.model.read", "api.model.request"]
    assert restricted.name is None
    third = rules.create(wip.id, project_id=project_id, service_account_id=accounts[2],
                         attribute_matchers={"sub": "x"}, enabled=False, name="")
    assert third.name == "", third  # the rule schema allows an empty name
    e = expect(openai.BadRequestError,
               lambda: rules.create(wip.id, project_id=project_id, service_account_id=accounts[2],
                                    attribute_matchers={"sub": "y"},
                                    permissions={"type": "restricted", "scopes": ["api.management.write"]}), 400)
    assert e.body["param"] == "permissions.scopes[0]", e.body
    ok("federation_rules.create (default and restricted permissions, empty name; admin scopes refused)")

    assert rules.retrieve(default.id, workload_identity_provider_id=wip.id) == default
    widened = rules.update(restricted.id, workload_identity_provider_id=wip.id,
                           permissions={"type": "service_account_default"}, name="sdk-named")
    assert widened.permissions.type == "service_account_default" and widened.name == "sdk-named"
    unnamed = rules.update(widened.id, workload_identity_provider_id=wip.id, name=None, description=None,
                           permissions={"type": "restricted", "scopes": ["api.model.read"]})
    assert unnamed.name is None and unnamed.description is None
    assert unnamed.permissions.type == "restricted"
    ok("federation_rules.retrieve, update (permissions both ways, null name)")

    ids = [r.id for r in rules.list(wip.id, limit=1)]
    assert sorted(ids) == sorted([default.id, restricted.id, third.id]), ids
    only = list(rules.list(wip.id, service_account_id=accounts[1]))
    assert [r.id for r in only] == [restricted.id], only
    ok("federation_rules.list with auto-pagination and the service_account_id filter")

    for r in (default, restricted, third):
        gone = rules.delete(r.id, workload_identity_provider_id=wip.id)
        assert gone.deleted is True and gone.object == "organization.workload_identity_federation_rule.deleted"
    org.workload_identity_providers.delete(wip.id)
    ok("federation_rules.delete")


def refusals(client: OpenAI) -> None:
    org = client.admin.organization
    # A missing required field: the SDK's params say `type` is required.
    e = expect(openai.BadRequestError,
               lambda: client.post("/organization/workload_identity_providers", cast_to=object,
                                   body={"name": "n", "issuer": "https://i.example.com", "audience": "a"}), 400)
    assert e.body["param"] == "type", e.body
    # An unknown path and a wrong method: 404 "Invalid URL (...)", code null.
    e = expect(openai.NotFoundError, lambda: client.get("/organization/nothing_here", cast_to=object), 404)
    assert e.body["message"] == "Invalid URL (GET /v1/organization/nothing_here)", e.body
    assert e.body["code"] is None, e.body
    e = expect(openai.NotFoundError,
               lambda: client.patch("/organization/workload_identity_providers", cast_to=object, body={}), 404)
    assert e.body["message"].startswith("Invalid URL (PATCH "), e.body
    assert e.response.headers.get("x-should-retry") == "false"
    # A wrong admin key.
    expect(openai.AuthenticationError, lambda: admin("sk-wrong").admin.organization.projects.list().data, 401)
    ok("error statuses: 400 param, 404 Invalid URL (code null), 401")

    read_only = admin(os.environ["READ_ONLY_ADMIN_KEY"]).admin.organization
    list(read_only.workload_identity_providers.list())
    e = expect(openai.AuthenticationError,
               lambda: read_only.workload_identity_providers.create(
                   name="x", issuer="https://i.example.com", audience="a", type="oidc",
                   verification={"type": "discovery", "discovery_url": None}), 401)
    assert e.body["message"] == (
        "You have insufficient permissions for this operation. Missing scopes: api.management.write."), e.body
    assert e.body["code"] is None and e.body["type"] == "invalid_request_error", e.body
    assert not [p for p in org.workload_identity_providers.list() if p.name == "x"]
    ok("a read-only admin key reads, and a write is 401 Missing scopes")


def workload(wip: str, sa: str, claims: dict) -> OpenAI:
    client = OpenAI(
        workload_identity={
            "identity_provider_id": wip,
            "service_account_id": sa,
            "provider": {"token_type": "jwt", "get_token": lambda: mint(claims)},
        },
        base_url=f"{EMU}/v1",
        _strict_response_validation=True,
        max_retries=0,
    )
    # The SDK exchanges at https://auth.openai.com/oauth/token unless told otherwise.
    client._workload_identity_auth.token_exchange_url = f"{EMU}/oauth/token"
    return client


def keyless(wip: str, sa: str, lonely: str) -> None:
    main = {"sub": "repo:my-org/my-repo:ref:refs/heads/main", "aud": AUDIENCE,
            "repository": "my-org/my-repo", "ref": "refs/heads/main"}
    models = list(workload(wip, sa, main).models.list())
    assert models and all(m.object == "model" for m in models), models
    ok("workload identity auth through the Terraform-made mapping, then models.list")

    # OpenAI's own SDK test (tests/test_auth.py): an account without a mapping.
    e = expect(openai.OAuthError, lambda: workload(wip, lonely, main).models.list(), 401)
    assert e.error == "invalid_grant", e.error
    assert e.message == "No service account mapping found for the provided service_account_id.", e.message
    ok("no mapping for the account: OAuthError 401 invalid_grant, OpenAI's sentence")

    feature = dict(main, ref="refs/heads/feature", sub="repo:my-org/my-repo:ref:refs/heads/feature")
    e = expect(openai.OAuthError, lambda: workload(wip, sa, feature).models.list(), 401)
    assert e.error == "invalid_grant", e.error
    ok("a workload the mapping does not match: OAuthError 401 invalid_grant")

    other_aud = dict(main, aud="https://elsewhere.example.com")
    e = expect(openai.OAuthError, lambda: workload(wip, sa, other_aud).models.list(), 401)
    assert e.error == "invalid_subject_token", e.error
    ok("a token for another audience: OAuthError 401 invalid_subject_token")


def main() -> int:
    print(f"openai {openai.__version__}", flush=True)
    client = admin()
    org = client.admin.organization
    project_id = os.environ["PROJECT_ID"]
    project = org.projects.retrieve(project_id)
    assert project.object == "organization.project" and project.id == project_id
    assert project_id in [p.id for p in org.projects.list(limit=1)]
    ok("projects.retrieve, list with auto-pagination")
    providers_round_trip(org)
    projects_round_trip(org)
    accounts = service_accounts_round_trip(org, project_id)
    rules_round_trip(org, project_id, accounts)
    refusals(client)
    keyless(os.environ["WIP_ID"], os.environ["SA_ID"], os.environ["LONELY_SA_ID"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
