"""template.yaml: lint clean, least privilege, alias wiring, DurableConfig and routes, with no AWS calls.

Two views of the template are checked. The source, as a reviewer reads it (parsed with cfn-lint's
CloudFormation YAML loader). And the CloudFormation that the SAM transform makes of it, produced
offline by the pinned aws-sam-translator in a clean interpreter: the generated alias, role and API
are what deploys, so the wiring is asserted there too.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from cfnlint.decode import cfn_yaml

from deployed_values import deployed
from isolated_python import installed_requirements, run_isolated

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
TRANSLATOR_REQUIREMENTS = Path(__file__).with_name("requirements-sam-translator.txt")

ALIAS = {"Ref": "MathFunctionAliaslive"}
EXECUTION_ARNS = {
    "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${MathFunction}:*"
}
MATH_FUNCTION_ARN = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${MathFunction}"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

TABLE_ARN = {"Fn::GetAtt": ["CalculationsTable", "Arn"]}
WEBHOOKS_TABLE_ARN = {"Fn::GetAtt": ["WebhooksTable", "Arn"]}
WEBHOOK_ALIAS = {"Ref": "WebhookDeliveryFunctionAliaslive"}
START_DELIVERIES = {
    "Sid": "StartWebhookDeliveries",
    "Effect": "Allow",
    "Action": "lambda:InvokeFunction",
    "Resource": WEBHOOK_ALIAS,
}
# The API reads and writes the caller's endpoints and reads deliveries; pings and redeliveries start one.
WEBHOOK_API_STATEMENTS = [
    {
        "Sid": "WebhookItems",
        "Effect": "Allow",
        "Action": [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
        ],
        "Resource": WEBHOOKS_TABLE_ARN,
    },
    START_DELIVERIES,
]
# The projector finds the owner's endpoints and starts their deliveries.
WEBHOOK_PROJECTOR_STATEMENTS = [
    {
        "Sid": "FindWebhookEndpoints",
        "Effect": "Allow",
        "Action": "dynamodb:Query",
        "Resource": WEBHOOKS_TABLE_ARN,
    },
    START_DELIVERIES,
]
OWNER_INDEX_ARN = {"Fn::Sub": "${CalculationsTable.Arn}/index/byOwner"}
KMS_KEY = {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}

# The API's only permissions: items on the table, Query on the owner index, start through the alias,
# and history, stop and delete by execution ARN. No Scan, no List, no Get of executions.
API_STATEMENTS = [
    {
        "Sid": "CalculationItems",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        "Resource": TABLE_ARN,
    },
    {
        "Sid": "ListOwnCalculations",
        "Effect": "Allow",
        "Action": "dynamodb:Query",
        "Resource": OWNER_INDEX_ARN,
    },
    {"Sid": "StartCalculations", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": ALIAS},
    {
        "Sid": "FollowStopAndDeleteCalculations",
        "Effect": "Allow",
        "Action": [
            "lambda:GetDurableExecutionHistory",
            "lambda:StopDurableExecution",
            "lambda:DeleteDurableExecution",
        ],
        "Resource": EXECUTION_ARNS,
    },
    *WEBHOOK_API_STATEMENTS,
]
# The durable function writes its logs, traces and dead letters; its Record step updates its
# calculation's item (and reads whether there is one when its write is refused); nothing else
# (the checkpoint and state actions are in their own policy).
MATH_STATEMENTS = [
    {
        "Sid": "WriteLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {"Fn::GetAtt": ["MathFunctionLogGroup", "Arn"]},
    },
    {
        "Sid": "WriteTraces",
        "Effect": "Allow",
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        "Resource": "*",
    },
    {
        "Sid": "DeadLetters",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["MathFunctionDeadLetterQueue", "Arn"]},
    },
    {
        "Sid": "RecordOutcome",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        "Resource": TABLE_ARN,
    },
]
# X-Ray's write actions take no resource but "*".
STAR_RESOURCE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
PROJECTOR_STATEMENTS = [
    {
        "Sid": "ProjectStatus",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        "Resource": TABLE_ARN,
    },
    {
        "Sid": "ReadMissingResult",
        "Effect": "Allow",
        "Action": "lambda:GetDurableExecution",
        "Resource": EXECUTION_ARNS,
    },
    *WEBHOOK_PROJECTOR_STATEMENTS,
]
FUNCTION_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${MathFunction}"
}
# The reconciler's only permissions: Query on the open index, conditional writes on items, Get of
# executions by ARN and List of the function's executions. No Scan, no Invoke, no Stop or Delete.
RECONCILER_STATEMENTS = [
    {
        "Sid": "ReadOpenCalculations",
        "Effect": "Allow",
        "Action": "dynamodb:Query",
        "Resource": {"Fn::Sub": "${CalculationsTable.Arn}/index/byOpenShard"},
    },
    {
        "Sid": "MendCalculations",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        "Resource": TABLE_ARN,
    },
    {
        "Sid": "FollowExecutions",
        "Effect": "Allow",
        "Action": "lambda:GetDurableExecution",
        "Resource": EXECUTION_ARNS,
    },
    {
        "Sid": "FindExecutions",
        "Effect": "Allow",
        "Action": "lambda:ListDurableExecutionsByFunction",
        "Resource": [FUNCTION_ARN, EXECUTION_ARNS],
    },
]
FUNCTIONS = (
    "MathFunction",
    "ApiFunction",
    "StatusProjectorFunction",
    "ReconcilerFunction",
    "WebhookDeliveryFunction",
)

# Usage plan values a deploy passes; the SAM transform writes them into the plan it generates.
DEPLOY_PARAMETERS = {
    "ApiThrottleRateLimit": 7,
    "ApiThrottleBurstLimit": 11,
    "ApiQuotaLimit": 500,
    "ApiQuotaPeriod": "WEEK",
}

# Translates {"template", "parameters"} read from stdin; runs in the translator's own clean interpreter.
TRANSLATE = """
import json
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform

class OfflinePolicyLoader:
    def load(self):
        raise RuntimeError("the template names a managed policy by name; use its ARN")

request = json.load(sys.stdin)
try:
    print(json.dumps(transform(request["template"], request["parameters"], OfflinePolicyLoader())))
except InvalidDocumentException as error:
    sys.exit("\\n".join(str(cause) for cause in error.causes))
"""


def plain(node: Any) -> Any:
    """cfn-lint's YAML nodes as plain dicts, lists and strings."""
    return json.loads(json.dumps(node))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return plain(cfn_yaml.load(str(TEMPLATE)))


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def translated(template: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    return translate(template, DEPLOY_PARAMETERS, request.config)


def translate(template: dict[str, Any], parameters: dict[str, Any], config: pytest.Config) -> dict[str, Any]:
    """The template after the SAM transform, with CodeUri replaced by S3 URIs as `sam package` does."""
    packaged = json.loads(json.dumps(template))
    for logical_id, resource in packaged["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://artifacts/{logical_id}.zip"
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = f"s3://artifacts/{logical_id}.zip"
    translator = installed_requirements(
        TRANSLATOR_REQUIREMENTS, config.cache.mkdir("sam-translator"), "aws-sam-translator"
    )
    result = run_isolated(
        TRANSLATE,
        [translator],
        {"AWS_DEFAULT_REGION": "us-east-1"},
        stdin=json.dumps({"template": packaged, "parameters": parameters}),
    )
    assert result.returncode == 0, f"the SAM transform refused template.yaml:\n{result.stderr}"
    return json.loads(result.stdout)


def test_cfn_lint_reports_nothing() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--", str(TEMPLATE)], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


def test_api_function_may_only_use_the_table_and_start_follow_stop_and_delete_executions(
    template: dict[str, Any],
) -> None:
    policies = deployed(template, {"KmsKeyArn": ""})["ApiFunction"]
    assert policies["Properties"]["Policies"] == [{"Version": "2012-10-17", "Statement": API_STATEMENTS}]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def written_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every policy statement written in the template, in a function's, a role's or a role policy's
    document, the KMS ones included (with a key set)."""
    documents = []
    for resource in deployed(template, {"KmsKeyArn": KEY_ARN}).values():
        properties = resource.get("Properties", {})
        for policy in properties.get("Policies", []):
            if isinstance(policy, dict):
                documents.append(policy.get("PolicyDocument", policy))
        if resource["Type"] == "AWS::IAM::RolePolicy":
            documents.append(properties["PolicyDocument"])
    return [statement for document in documents for statement in document.get("Statement", [])]


def test_no_statement_grants_a_wildcard_action_or_resource(template: dict[str, Any]) -> None:
    # Given every policy statement written in the template
    statements = written_statements(template)
    assert statements
    for statement in statements:
        actions = as_list(statement["Action"])
        # Then no action has a wildcard or scans, and no resource is "*" or a plain string pattern,
        # but for the actions that take no other
        assert all("*" not in action for action in actions), statement
        assert "dynamodb:Scan" not in actions, statement
        if set(actions) <= STAR_RESOURCE_ACTIONS:
            assert statement["Resource"] == "*", statement
        else:
            # (an intrinsic, or the key ARN given as KmsKeyArn)
            named = as_list(statement["Resource"])
            assert all(isinstance(resource, dict) or resource == KEY_ARN for resource in named), statement


def test_math_function_is_published_behind_the_live_alias_the_api_calls(resources: dict[str, Any]) -> None:
    math = resources["MathFunction"]["Properties"]
    api_environment = resources["ApiFunction"]["Properties"]["Environment"]["Variables"]

    assert math["AutoPublishAlias"] == "live"
    # A configuration change alone also publishes a version, so the alias follows it
    assert math["AutoPublishAliasAllProperties"] is True
    assert api_environment["MATH_FUNCTION_NAME"] == ALIAS


def test_math_function_is_durable_with_limits_from_parameters(template: dict[str, Any]) -> None:
    math = template["Resources"]["MathFunction"]["Properties"]
    parameters = template["Parameters"]

    assert math["Handler"] == "durable_math.lambda_handler"
    assert math["DurableConfig"] == {
        "ExecutionTimeout": {"Ref": "ExecutionTimeoutSeconds"},
        "RetentionPeriodInDays": {"Ref": "RetentionPeriodInDays"},
        "KMSKeyArn": KMS_KEY,
    }
    # Lambda's limits: ExecutionTimeout 1 s to 366 days, retention 1 to 90 days.
    timeout, retention = parameters["ExecutionTimeoutSeconds"], parameters["RetentionPeriodInDays"]
    assert (timeout["MinValue"], timeout["MaxValue"]) == (1, 31622400)
    assert 1 <= timeout["Default"] <= 31622400
    assert (retention["MinValue"], retention["MaxValue"]) == (1, 90)
    assert 1 <= retention["Default"] <= 90
    # Durable functions need a runtime that supports them.
    assert template["Globals"]["Function"]["Runtime"] in {"python3.13", "python3.14"}


def template_routes(resources: dict[str, Any]) -> set[tuple[str, str]]:
    events = resources["ApiFunction"]["Properties"]["Events"].values()
    return {(event["Properties"]["Method"].upper(), event["Properties"]["Path"]) for event in events}


def test_template_routes_equal_the_api_resolver_routes(
    resources: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the API module, configured as the template configures it
    monkeypatch.setenv(
        "MATH_FUNCTION_NAME", "arn:aws:lambda:us-east-1:123456789012:function:math-durable:live"
    )
    import app

    resolvers = [value for value in vars(app).values() if isinstance(value, ApiGatewayResolver)]
    assert len(resolvers) == 1, "app.py should hold exactly one resolver"
    # Powertools keeps the registered routes in these two lists (the swagger route included).
    routes = resolvers[0]._static_routes + resolvers[0]._dynamic_routes
    resolver_routes = {(route.method, route.openapi_path) for route in routes}

    # Then API Gateway forwards exactly the routes the resolver serves
    assert template_routes(resources) == resolver_routes


def test_gateway_errors_are_problem_documents_with_their_status(template: dict[str, Any]) -> None:
    responses = template["Resources"]["CalculationsApi"]["Properties"]["GatewayResponses"]

    for kind, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Content-Type"] == "'application/problem+json'", kind
        if "StatusCode" in response:
            body = response["ResponseTemplates"]["application/json"]
            assert f'"status": {response["StatusCode"]}' in body, kind
    # A route API Gateway does not know is the function's 404, and the usage plan's 429s say when
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    for kind in ("THROTTLED", "QUOTA_EXCEEDED"):
        assert responses[kind]["StatusCode"] == "429"
        assert "Retry-After" in responses[kind]["ResponseParameters"]["Headers"]


def test_cors_preflight_allows_every_header_the_api_reads(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the headers the API's own CORS answers allow
    monkeypatch.setenv("MATH_FUNCTION_NAME", "math-durable:live")
    import app

    api_headers = {header.lower() for header in app.CORS.allow_headers}
    # Then API Gateway's preflight (it answers OPTIONS itself) allows the ones clients send
    allowed = template["Resources"]["CalculationsApi"]["Properties"]["Cors"]["AllowHeaders"].strip("'")
    template_headers = {header.lower() for header in allowed.split(",")}
    assert {"content-type", "x-api-key", "idempotency-key", "prefer", "if-none-match"} <= template_headers
    assert template_headers <= api_headers


def test_every_route_goes_to_the_api_function_through_the_api(resources: dict[str, Any]) -> None:
    events = resources["ApiFunction"]["Properties"]["Events"].values()
    assert {event["Type"] for event in events} == {"Api"}
    assert all(event["Properties"]["RestApiId"] == {"Ref": "CalculationsApi"} for event in events)
    assert template_routes(resources) >= {("POST", "/calculations"), ("GET", "/swagger")}


def test_sam_generates_the_live_alias_the_api_is_wired_to(translated: dict[str, Any]) -> None:
    generated = translated["Resources"]

    alias = generated["MathFunctionAliaslive"]
    assert alias["Type"] == "AWS::Lambda::Alias"
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["FunctionName"] == {"Ref": "MathFunction"}
    version = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    assert generated[version]["Type"] == "AWS::Lambda::Version"

    assert generated["ApiFunction"]["Properties"]["Environment"]["Variables"]["MATH_FUNCTION_NAME"] == ALIAS
    assert translated["Outputs"]["MathFunctionAliasArn"]["Value"] == ALIAS


def test_the_durable_function_runs_with_its_own_role_and_no_managed_policy(
    template: dict[str, Any], translated: dict[str, Any]
) -> None:
    generated = deployed(translated, {})
    function = generated["MathFunction"]["Properties"]

    # Given the role the durable function runs with (no key set)
    assert function["Role"] == {"Fn::GetAtt": ["MathFunctionRole", "Arn"]}
    role = generated["MathFunctionRole"]["Properties"]

    # Then Lambda alone assumes it, it carries no managed policy, and its statements are the list
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert "ManagedPolicyArns" not in role
    assert [policy["PolicyDocument"]["Statement"] for policy in role["Policies"]] == [MATH_STATEMENTS]
    assert template["Resources"]["MathFunction"]["Properties"]["DurableConfig"] == {
        "ExecutionTimeout": {"Ref": "ExecutionTimeoutSeconds"},
        "RetentionPeriodInDays": {"Ref": "RetentionPeriodInDays"},
        "KMSKeyArn": KMS_KEY,
    }


def test_the_durable_function_checkpoints_only_its_own_executions(translated: dict[str, Any]) -> None:
    generated = deployed(translated, {})
    policies = [
        resource["Properties"]
        for resource in generated.values()
        if resource["Type"] == "AWS::IAM::RolePolicy"
        and resource["Properties"]["RoleName"] == {"Ref": "MathFunctionRole"}
    ]

    # The SDK's two actions, on the function's unqualified ARN and its versions, nowhere else
    assert [policy["PolicyDocument"]["Statement"] for policy in policies] == [
        [
            {
                "Sid": "CheckpointOwnExecutions",
                "Effect": "Allow",
                "Action": ["lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"],
                "Resource": [
                    {"Fn::Sub": MATH_FUNCTION_ARN},
                    {"Fn::Sub": MATH_FUNCTION_ARN + ":*"},
                ],
            }
        ]
    ]


def role_of(generated: dict[str, Any], function: str) -> dict[str, Any]:
    return generated[generated[function]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]


def test_sam_keeps_the_api_role_to_the_declared_statements(translated: dict[str, Any]) -> None:
    role = role_of(deployed(translated, {}), "ApiFunction")

    assert [policy["PolicyDocument"]["Statement"] for policy in role["Policies"]] == [API_STATEMENTS]
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    ]


def test_sam_keeps_the_projector_role_to_the_table_the_fallback_read_and_its_queue(
    translated: dict[str, Any],
) -> None:
    role = role_of(deployed(translated, {}), "StatusProjectorFunction")

    assert {policy["PolicyName"]: policy["PolicyDocument"]["Statement"] for policy in role["Policies"]} == {
        "DeadLetterQueuePolicy": [
            {
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["StatusEventsDeadLetterQueue", "Arn"]},
                "Effect": "Allow",
            }
        ],
        "StatusProjectorFunctionRolePolicy0": PROJECTOR_STATEMENTS,
    }
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    ]


def test_sam_keeps_the_reconciler_role_to_the_open_index_items_executions_and_its_queue(
    translated: dict[str, Any],
) -> None:
    role = role_of(deployed(translated, {}), "ReconcilerFunction")

    assert {policy["PolicyName"]: policy["PolicyDocument"]["Statement"] for policy in role["Policies"]} == {
        "DeadLetterQueuePolicy": [
            {
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["ReconcilerDeadLetterQueue", "Arn"]},
                "Effect": "Allow",
            }
        ],
        "ReconcilerFunctionRolePolicy0": RECONCILER_STATEMENTS,
    }
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    ]


def test_the_reconciler_runs_every_minute_once_through_the_alias_and_within_its_timeout(
    translated: dict[str, Any],
) -> None:
    generated = translated["Resources"]
    function = generated["ReconcilerFunction"]["Properties"]
    (rule,) = [
        resource
        for resource in generated.values()
        if resource["Type"] == "AWS::Events::Rule" and resource["Properties"].get("ScheduleExpression")
    ]
    (target,) = rule["Properties"]["Targets"]
    (invoke_config,) = [
        resource["Properties"]
        for resource in generated.values()
        if resource["Type"] == "AWS::Lambda::EventInvokeConfig"
        and resource["Properties"]["FunctionName"] == {"Ref": "ReconcilerFunction"}
    ]

    # Every minute, to the reconciler; a failed run is not retried (the next one does its work)
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    assert target["Arn"] == {"Fn::GetAtt": ["ReconcilerFunction", "Arn"]}
    assert invoke_config["MaximumRetryAttempts"] == 0
    # It looks executions up through the alias the API starts them on, and a run's paced calls
    # (at most 40 s) end within its timeout
    assert function["Environment"]["Variables"]["MATH_FUNCTION_NAME"] == ALIAS
    assert function["Handler"] == "reconciler.lambda_handler"
    assert function["Timeout"] == 60


def test_the_functions_and_the_local_twin_use_the_key_schema_the_template_deploys(
    translated: dict[str, Any],
) -> None:
    # Given the table's key schema the shared layer declares (the local twin creates it, the API
    # queries its index)
    from calculation_records import KEY_SCHEMA

    # Then the deployed table has exactly those keys and that index
    properties = translated["Resources"]["CalculationsTable"]["Properties"]
    assert {name: properties[name] for name in KEY_SCHEMA} == KEY_SCHEMA


def test_calculations_table_is_on_demand_keyed_by_execution_name_with_the_owner_and_open_indexes(
    translated: dict[str, Any],
) -> None:
    table = translated["Resources"]["CalculationsTable"]
    properties = table["Properties"]

    assert table["Type"] == "AWS::DynamoDB::Table"
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [{"AttributeName": "executionName", "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [
        {"AttributeName": "executionName", "AttributeType": "S"},
        {"AttributeName": "owner", "AttributeType": "S"},
        {"AttributeName": "startedAt", "AttributeType": "S"},
        {"AttributeName": "openShard", "AttributeType": "S"},
    ]
    assert properties["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "byOwner",
            "KeySchema": [
                {"AttributeName": "owner", "KeyType": "HASH"},
                {"AttributeName": "startedAt", "KeyType": "RANGE"},
            ],
            # What a listing shows, and what hides an abandoned start from it
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": ["id", "status", "endedAt", "expiresAt", "executionArn", "startDeadline"],
            },
        },
        # Sparse: only open items carry openShard; the reconciler reads it oldest first
        {
            "IndexName": "byOpenShard",
            "KeySchema": [
                {"AttributeName": "openShard", "KeyType": "HASH"},
                {"AttributeName": "startedAt", "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": ["status", "executionArn", "startDeadline"],
            },
        },
    ]
    # Items expire with Lambda's retention; the table can be restored to any second of the last 35 days
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # A customer key when one is given, else DynamoDB's default AWS owned key
    assert properties["SSESpecification"] == {
        "SSEEnabled": {"Fn::If": ["HasKmsKey", True, False]},
        "SSEType": {"Fn::If": ["HasKmsKey", "KMS", {"Ref": "AWS::NoValue"}]},
        "KMSMasterKeyId": KMS_KEY,
    }
    # A read model Lambda's records can rebuild: it goes with the stack
    assert properties["DeletionProtectionEnabled"] is False
    assert table["DeletionPolicy"] == "Delete"


def test_every_function_carries_the_shared_layer_and_the_table_settings(translated: dict[str, Any]) -> None:
    generated = translated["Resources"]

    for function in FUNCTIONS:
        properties = generated[function]["Properties"]
        (layer,) = properties["Layers"]
        layer_resource = generated[layer["Ref"]]
        assert layer_resource["Type"] == "AWS::Lambda::LayerVersion", function
        assert layer_resource["Properties"]["CompatibleRuntimes"] == ["python3.13"]
        assert layer_resource["Properties"]["CompatibleArchitectures"] == ["arm64"]
        assert properties["Architectures"] == ["arm64"]
        variables = properties["Environment"]["Variables"]
        assert variables["CALCULATIONS_TABLE_NAME"] == {"Ref": "CalculationsTable"}, function
        assert variables["RETENTION_PERIOD_DAYS"] == {"Ref": "RetentionPeriodInDays"}, function
    assert generated["StatusProjectorFunction"]["Properties"]["Handler"] == "status_projector.lambda_handler"


def test_shared_layer_is_built_from_functions_shared_for_python_3_13(resources: dict[str, Any]) -> None:
    layer = resources["SharedLayer"]

    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "functions/shared/"
    assert layer["Metadata"]["BuildMethod"] == "python3.13"


def test_status_change_rule_sends_only_math_function_events_to_the_projector_with_retries_and_a_queue(
    translated: dict[str, Any],
) -> None:
    generated = translated["Resources"]
    rule = generated["StatusChangeRule"]["Properties"]

    assert rule["EventBusName"] == "default"
    assert rule["EventPattern"] == {
        "source": ["aws.lambda"],
        "detail-type": ["Durable Execution Status Change"],
        "detail": {
            "functionArn": [
                {"Fn::GetAtt": ["MathFunction", "Arn"]},
                {"prefix": {"Fn::Sub": "${MathFunction.Arn}:"}},
            ]
        },
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["StatusProjectorFunction", "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["StatusEventsDeadLetterQueue", "Arn"]}}
    # EventBridge may invoke the projector for this rule only, and write to the queue for it only
    permission = generated["StatusProjectorInvokePermission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["StatusChangeRule", "Arn"]}
    (statement,) = generated["StatusEventsDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["StatusChangeRule", "Arn"]}}
    }


def test_asynchronous_functions_send_failed_invocations_to_encrypted_dead_letter_queues(
    translated: dict[str, Any],
) -> None:
    generated = translated["Resources"]
    queues = {
        "MathFunction": "MathFunctionDeadLetterQueue",
        "StatusProjectorFunction": "StatusEventsDeadLetterQueue",
        "ReconcilerFunction": "ReconcilerDeadLetterQueue",
        "WebhookDeliveryFunction": "WebhookDeliveryDeadLetterQueue",
    }

    for function, queue in queues.items():
        dead_letters = generated[function]["Properties"]["DeadLetterConfig"]
        assert dead_letters == {"TargetArn": {"Fn::GetAtt": [queue, "Arn"]}}
        assert generated[queue]["Properties"]["SqsManagedSseEnabled"] is True
    # API Gateway calls the API function synchronously: it has none
    assert "DeadLetterConfig" not in generated["ApiFunction"]["Properties"]


# The roles the three functions run with, and the key statement each gets when a key is set.
ROLES = {
    "MathFunction": "MathFunctionRole",
    "ApiFunction": "ApiFunctionRole",
    "StatusProjectorFunction": "StatusProjectorFunctionRole",
    "ReconcilerFunction": "ReconcilerFunctionRole",
    "WebhookDeliveryFunction": "WebhookDeliveryFunctionRole",
}
KEY_STATEMENT = {
    "Sid": "UseTheKeyThroughLambdaAndDynamoDB",
    "Effect": "Allow",
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
    "Resource": KEY_ARN,
    "Condition": {
        "StringEquals": {
            "kms:ViaService": ["lambda.us-east-1.amazonaws.com", "dynamodb.us-east-1.amazonaws.com"]
        }
    },
}


def role_statements(generated: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in generated[role]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def test_with_a_key_each_role_may_use_it_through_lambda_and_dynamodb_only(translated: dict[str, Any]) -> None:
    # Given the stack deployed with a customer managed key
    generated = deployed(translated, {"KmsKeyArn": KEY_ARN})

    # Then every function's role holds exactly one key statement: that key, through those services
    for function, role in ROLES.items():
        assert generated[function]["Properties"]["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        key_statements = [s for s in role_statements(generated, role) if s["Action"][0].startswith("kms:")]
        assert key_statements == [KEY_STATEMENT], role


def test_without_a_key_no_role_names_kms(translated: dict[str, Any]) -> None:
    generated = deployed(translated, {"KmsKeyArn": ""})

    for role in ROLES.values():
        assert "kms:" not in json.dumps(generated[role]), role


def test_the_optional_kms_key_encrypts_environment_logs_and_durable_payloads(
    template: dict[str, Any], translated: dict[str, Any]
) -> None:
    generated = translated["Resources"]
    key = template["Parameters"]["KmsKeyArn"]

    # Empty by default: AWS owned keys
    assert key["Default"] == ""
    assert template["Conditions"]["HasKmsKey"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}]}
    for function in FUNCTIONS:
        assert generated[function]["Properties"]["KmsKeyArn"] == KMS_KEY, function
    log_groups = [
        logical_id for logical_id, resource in generated.items() if resource["Type"] == "AWS::Logs::LogGroup"
    ]
    assert len(log_groups) == 6
    for log_group in log_groups:
        assert generated[log_group]["Properties"]["KmsKeyId"] == KMS_KEY, log_group
    assert generated["MathFunction"]["Properties"]["DurableConfig"]["KMSKeyArn"] == KMS_KEY


@pytest.mark.parametrize(
    ("function", "parameter", "reserved"),
    [
        ("MathFunction", "MathFunctionReservedConcurrency", 40),
        ("ApiFunction", "ApiFunctionReservedConcurrency", 40),
        ("StatusProjectorFunction", "StatusProjectorReservedConcurrency", 40),
        ("ReconcilerFunction", "ReconcilerReservedConcurrency", 1),
        ("WebhookDeliveryFunction", "WebhookDeliveryReservedConcurrency", 40),
    ],
)
def test_no_function_reserves_concurrency_unless_a_parameter_asks(
    template: dict[str, Any], translated: dict[str, Any], function: str, parameter: str, reserved: int
) -> None:
    # By default nothing is reserved: a new account's unreserved pool (minus Lambda's 100) has no room
    assert "ReservedConcurrentExecutions" not in deployed(translated, {})[function]["Properties"]
    assert template["Parameters"][parameter]["MinValue"] == 0

    # A value other than 0 reserves it
    properties = deployed(translated, {parameter: reserved})[function]["Properties"]
    assert properties["ReservedConcurrentExecutions"] == str(reserved)


def test_every_route_but_the_docs_requires_an_api_key_under_a_usage_plan(translated: dict[str, Any]) -> None:
    generated = translated["Resources"]
    paths = generated["CalculationsApi"]["Properties"]["Body"]["paths"]

    keyed = {
        (method.upper(), path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if {"api_key": []} in operation.get("security", [])
    }
    public = {
        (method.upper(), path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if (method.upper(), path) not in keyed
    }
    # CORS preflights, the Swagger UI and the console (whose script sends the key) are the only
    # calls without a key.
    assert {route for route in public if route[0] != "OPTIONS"} == {
        ("GET", "/swagger"),
        ("GET", "/console"),
        ("GET", "/console/console.js"),
        ("GET", "/console/console.css"),
    }
    assert ("POST", "/calculations") in keyed
    assert ("DELETE", "/calculations/{id}") in keyed

    plan = generated["CalculationsApiUsagePlan"]["Properties"]
    assert plan["Throttle"] == {"RateLimit": 7, "BurstLimit": 11}
    assert plan["Quota"] == {"Limit": 500, "Period": "WEEK"}
    plan_key = generated["CalculationsApiUsagePlanKey"]["Properties"]
    assert plan_key["KeyId"] == {"Ref": "CalculationsApiApiKey"}
    assert translated["Outputs"]["ApiKeyId"]["Value"] == {"Ref": "CalculationsApiApiKey"}


def test_stage_writes_access_logs_and_traces(translated: dict[str, Any]) -> None:
    stage = translated["Resources"]["CalculationsApiStage"]["Properties"]

    assert stage["StageName"] == {"Ref": "StageName"}
    assert stage["TracingEnabled"] is True
    assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert json.loads(stage["AccessLogSetting"]["Format"])["requestId"] == "$context.requestId"


def test_outputs_name_resources_that_exist_after_the_transform(translated: dict[str, Any]) -> None:
    generated = translated["Resources"]
    outputs = translated["Outputs"]

    assert set(outputs) == {
        "ApiUrl",
        "ApiKeyId",
        "MathFunctionAliasArn",
        "MathFunctionName",
        "ApiFunctionName",
        "StatusProjectorFunctionName",
        "CalculationsTableName",
        "MathFunctionDeadLetterQueueUrl",
        "StatusEventsDeadLetterQueueUrl",
        "ReconcilerFunctionName",
        "ReconcilerDeadLetterQueueUrl",
        "WebhooksTableName",
        "WebhookDeliveryFunctionAliasArn",
    }
    for output in outputs.values():
        value = output["Value"]
        if "Ref" in value:
            assert value["Ref"] in generated
    assert outputs["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${CalculationsApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"
    }


# Parameters a version captures through a durable function's properties; reserved concurrency
# belongs to the function, not to a version.
NOT_CAPTURED_BY_A_VERSION = {"MathFunctionReservedConcurrency", "WebhookDeliveryReservedConcurrency"}


def parameters_referenced(node: Any, names: set[str]) -> set[str]:
    text = json.dumps(node)
    return {name for name in names if f'"Ref": "{name}"' in text or "${" + name + "}" in text}


@pytest.mark.parametrize(
    "change",
    [{"ExecutionTimeoutSeconds": 1800}, {"RetentionPeriodInDays": 30}, {"KmsKeyArn": KEY_ARN}],
)
def test_a_parameter_change_alone_publishes_a_new_version_for_the_alias(
    template: dict[str, Any], request: pytest.FixtureRequest, change: dict[str, Any]
) -> None:
    # Given the template translated with the defaults, and again with one parameter changed
    versions = []
    for parameters in ({}, change):
        generated = deployed(translate(template, parameters, request.config), parameters)
        alias = generated["MathFunctionAliaslive"]["Properties"]
        logical_id = alias["FunctionVersion"]["Fn::GetAtt"][0]
        versions.append((logical_id, generated[logical_id]))

    # Then the two versions differ: by name, or in a property CloudFormation can only set by
    # creating the resource again, which publishes a new version (AWS::Lambda::Version's schema)
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::Lambda::Version").schema
    create_only = {path.removeprefix("/properties/") for path in schema["createOnlyProperties"]}
    (before_id, before), (after_id, after) = versions
    changed = {
        name for name in create_only if before["Properties"].get(name) != after["Properties"].get(name)
    }
    assert before_id != after_id or changed, "the alias would keep the version of the old configuration"
    # And the version replaced is kept, for the executions that still run on it
    assert (after["DeletionPolicy"], after["UpdateReplacePolicy"]) == ("Retain", "Retain")


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("MathFunction", {"ExecutionTimeoutSeconds", "RetentionPeriodInDays", "KmsKeyArn"}),
        ("WebhookDeliveryFunction", {"WebhookRetrySchedule", "RetentionPeriodInDays", "KmsKeyArn"}),
    ],
)
def test_every_parameter_a_durable_function_uses_is_in_its_version_description(
    template: dict[str, Any], translated: dict[str, Any], function: str, expected: set[str]
) -> None:
    # Given the parameters the durable function's properties use (its Globals included)
    names = set(template["Parameters"])
    used = parameters_referenced(translated["Resources"][function], names) - NOT_CAPTURED_BY_A_VERSION
    assert expected <= used

    # Then the description of the version it publishes names each of them
    alias = translated["Resources"][f"{function}Aliaslive"]["Properties"]
    version = translated["Resources"][alias["FunctionVersion"]["Fn::GetAtt"][0]]
    assert parameters_referenced(version["Properties"]["Description"], names) == used


def test_a_change_to_any_written_property_names_a_new_version(
    template: dict[str, Any], translated: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    # Given the template with one more property on the durable function (its memory)
    changed = json.loads(json.dumps(template))
    changed["Resources"]["MathFunction"]["Properties"]["MemorySize"] = 1024

    def version_of(generated: dict[str, Any]) -> str:
        return generated["Resources"]["MathFunctionAliaslive"]["Properties"]["FunctionVersion"]["Fn::GetAtt"][
            0
        ]

    # Then SAM publishes the version under another name
    assert version_of(translate(changed, DEPLOY_PARAMETERS, request.config)) != version_of(translated)
