"""Starting a delivery: the delivery function's alias, invoked asynchronously under the delivery's name.

Lambda answers a repeated start with the same name and input with the execution it already has,
so a duplicate status event or a retried request starts nothing new. The client is passed in;
botocore errors propagate.
"""

import json
from typing import Any

from webhook_events import delivery_input, execution_name


def start_delivery(
    client: Any, function: str, owner: str, endpoint_id: str, delivery: str, round: int, event: dict[str, Any]
) -> str:
    """Start (or find) the execution of one round of a delivery; its ARN. `function` is alias-qualified."""
    name, qualifier = function.rsplit(":", 1)
    response = client.invoke(
        FunctionName=name,
        Qualifier=qualifier,
        InvocationType="Event",
        DurableExecutionName=execution_name(endpoint_id, delivery, round),
        # The event's keys in the order they were built (a result document's order is its own).
        Payload=json.dumps(delivery_input(owner, endpoint_id, delivery, round, event)).encode(),
    )
    response["Payload"].read()
    return response["DurableExecutionArn"]
