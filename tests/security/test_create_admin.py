"""Finding 2 (2026-12-07): ``create-admin`` handed admin rights to whoever registered the
address first. The attack: register ``ops-admin@…``, wait for the operator to run
``create-admin ops-admin@…``, keep using the old token."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from server.config import Config
from tests.helpers import register_user
from tests.test_accounts import _create_admin

OPERATOR_PASSWORD = "granite-willow-pylon-saffron-19"


async def test_squatted_address_is_not_promoted_and_attacker_token_dies(
    client: TestClient[Any, Any], config: Config
) -> None:
    attacker = await register_user(client, email="ops-admin@example.com")
    assert (await client.get("/api/v1/system/status", headers=attacker.headers)).status == 403
    # The operator runs the command as before: refused, nothing changes.
    code, out, err = await _create_admin(config, "ops-admin@example.com", OPERATOR_PASSWORD)
    assert code == 1 and "already exists" in err, out + err
    assert (await client.get("/api/v1/system/status", headers=attacker.headers)).status == 403
    # Even when the operator insists, the old token never sees an admin route: every
    # session is revoked (database, caches, notice) before the command returns.
    code, out, err = await _create_admin(
        config, "OPS-admin@example.com", OPERATOR_PASSWORD, "--promote-existing"
    )
    assert code == 0, out + err
    for path in ("/api/v1/system/status", "/api/v1/system/breakers", "/api/v1/me"):
        assert (await client.get(path, headers=attacker.headers)).status == 401, path
    r = await client.post(
        "/api/v1/auth/login",
        json={"email": "ops-admin@example.com", "password": OPERATOR_PASSWORD},
    )
    assert r.status == 200 and (await r.json())["user"]["role"] == "admin"
