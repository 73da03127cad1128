"""An Idempotency-Key whose calculation is past its retention starts a new calculation, as Lambda
starts a new execution under a name whose old one it has forgotten; DynamoDB deletes expired
items only some time after their `expiresAt`, and until then the API treats them as gone."""

from __future__ import annotations

import hashlib
import time

from api_helpers import url
from test_local_table import TABLE, dynamodb


def execution_name(owner: str, calculation_id: str) -> str:
    """The README's rule: calc- and the first 32 hex digits of SHA-256 of owner, newline, id."""
    return "calc-" + hashlib.sha256(f"{owner}\n{calculation_id}".encode()).hexdigest()[:32]


def test_a_key_whose_calculation_has_expired_starts_a_new_calculation(api, needs_local):
    # Given an item for the key "old-key" that ended long ago and expired, not yet swept away
    owner = "key:" + needs_local.key().id
    table = dynamodb(needs_local.urls["DynamoDB"])
    table.put_item(
        TableName=TABLE,
        Item={
            "executionName": {"S": execution_name(owner, "old-key")},
            "owner": {"S": owner},
            "id": {"S": "old-key"},
            "input": {"S": '{"num1":1,"num2":2}'},
            "status": {"S": "SUCCEEDED"},
            "startedAt": {"S": "2025-01-01T00:00:00.000000Z"},
            "endedAt": {"S": "2025-01-01T00:00:01.000000Z"},
            "result": {"S": '{"Add":3,"Subtract":-1,"Multiply":2,"Division":0.5}'},
            "expiresAt": {"N": str(int(time.time()) - 60)},
        },
    )
    assert api.get(url(api, "/calculations/old-key"), timeout=30).status_code == 404

    # When the key is used again, with another body
    response = api.post(
        url(api, "/calculations"),
        json={"num1": 10, "num2": 5},
        headers={"Idempotency-Key": "old-key"},
        timeout=30,
    )

    # Then a new calculation starts under it
    assert response.status_code == 202, response.text
    assert response.json()["input"] == {"num1": 10, "num2": 5}


def test_the_list_leaves_out_calculations_past_their_retention(api, needs_local):
    # Given two ended calculations of the caller, one expired a minute ago (not yet swept away),
    # the other expiring in an hour
    owner = "key:" + needs_local.key().id
    table = dynamodb(needs_local.urls["DynamoDB"])
    now = int(time.time())
    for calculation_id, expires_at in (("listed-expired", now - 60), ("listed-kept", now + 3600)):
        table.put_item(
            TableName=TABLE,
            Item={
                "executionName": {"S": execution_name(owner, calculation_id)},
                "owner": {"S": owner},
                "id": {"S": calculation_id},
                "input": {"S": '{"num1":1,"num2":2}'},
                "status": {"S": "SUCCEEDED"},
                "startedAt": {"S": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(now))},
                "endedAt": {"S": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(now + 1))},
                "result": {"S": '{"Add":3,"Subtract":-1,"Multiply":2,"Division":0.5}'},
                "expiresAt": {"N": str(expires_at)},
            },
        )

    # When the caller lists its calculations, every page of them
    listed: list[str] = []
    params: dict[str, str | int] = {"limit": 100}
    while True:
        page = api.get(url(api, "/calculations"), params=params, timeout=30)
        assert page.status_code == 200, page.text
        listed += [summary["id"] for summary in page.json()["items"]]
        if "nextCursor" not in page.json():
            break
        params["cursor"] = page.json()["nextCursor"]

    # Then the one within its retention is there, the expired one is not
    assert "listed-kept" in listed
    assert "listed-expired" not in listed
