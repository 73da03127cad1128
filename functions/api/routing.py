"""A Powertools Router that remembers each route it declares, so the route table is written once:
in the route decorators. The API's 404 and 405 answers and the tests read it from here."""

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter


class TableRouter(APIGatewayRouter):
    """`APIGatewayRouter` whose `table` maps each path (`/calculations/{id}`) to its methods."""

    def __init__(self) -> None:
        super().__init__()
        self.table: dict[str, tuple[str, ...]] = {}

    def route(self, rule: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        methods = (method,) if isinstance(method, str) else tuple(method)
        path = rule.replace("<id>", "{id}")
        self.table[path] = (*self.table.get(path, ()), *(m.upper() for m in methods))
        return super().route(rule, method, *args, **kwargs)
