"""What CloudFormation makes of a translated template for one set of parameter values: conditions
decided, `Fn::If` taken, `AWS::NoValue` dropped, parameters and pseudo parameters put into `Ref`
and into `Fn::Sub` strings that name nothing else. References to resources stay as written
(their values exist only once deployed)."""

import re
from typing import Any

PSEUDO = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
NO_VALUE = object()


def parameter_values(template: dict[str, Any], given: dict[str, Any]) -> dict[str, str]:
    """Every parameter's value as CloudFormation passes it: a string, the default unless given."""
    return {
        name: str(given.get(name, declaration.get("Default", "")))
        for name, declaration in template["Parameters"].items()
    }


def deployed(template: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The template's resources as deployed with `given` parameters (those without a condition,
    and those whose condition holds)."""
    values = {**PSEUDO, **parameter_values(template, given)}
    conditions: dict[str, bool] = {}
    for name, expression in template.get("Conditions", {}).items():
        conditions[name] = _condition(expression, values, conditions)
    return {
        logical_id: _resolve(resource, values, conditions)
        for logical_id, resource in template["Resources"].items()
        if conditions.get(resource.get("Condition", ""), True)
    }


def _condition(expression: Any, values: dict[str, str], conditions: dict[str, bool]) -> Any:
    if isinstance(expression, dict) and len(expression) == 1:
        (function, argument), *_ = expression.items()
        if function == "Fn::Not":
            return not _condition(argument[0], values, conditions)
        if function == "Fn::Equals":
            left, right = (_condition(side, values, conditions) for side in argument)
            return str(left) == str(right)
        if function == "Ref":
            return values[argument]
        if function == "Condition":
            return conditions[argument]
    return expression


def _resolve(node: Any, values: dict[str, str], conditions: dict[str, bool]) -> Any:
    if isinstance(node, list):
        items = (_resolve(item, values, conditions) for item in node)
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::If"}:
        condition, when_true, when_false = node["Fn::If"]
        return _resolve(when_true if conditions[condition] else when_false, values, conditions)
    if set(node) == {"Ref"} and node["Ref"] == "AWS::NoValue":
        return NO_VALUE
    if set(node) == {"Ref"} and node["Ref"] in values:
        return values[node["Ref"]]
    if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
        text = re.sub(r"\$\{([^}!.]+)\}", lambda m: values.get(m[1], m[0]), node["Fn::Sub"])
        # Only when every name in it is a parameter: one naming a resource stays as written.
        return text if "${" not in text else node
    resolved = {key: _resolve(value, values, conditions) for key, value in node.items()}
    return {key: value for key, value in resolved.items() if value is not NO_VALUE}
