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

from isolated_python import installed_requirements, run_isolated

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
TRANSLATOR_REQUIREMENTS = Path(__file__).with_name("requirements-sam-translator.txt")

ALIAS = {"Ref": "MathFunctionAliaslive"}
EXECUTION_ARNS = {
    "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${MathFunction}:*"
}
DURABLE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicDurableExecutionRolePolicy"

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
# The durable function's Record step updates its calculation's item, nothing else.
MATH_STATEMENTS = [
    {"Sid": "RecordOutcome", "Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": TABLE_ARN}
]
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
FUNCTIONS = ("MathFunction", "ApiFunction", "StatusProjectorFunction", "WebhookDeliveryFunction")

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
    """The template after the SAM transform, with CodeUri replaced by S3 URIs as `sam package` does."""
    packaged = json.loads(json.dumps(template))
    for logical_id, resource in packaged["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://artifacts/{logical_id}.zip"
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = f"s3://artifacts/{logical_id}.zip"
    translator = installed_requirements(
        TRANSLATOR_REQUIREMENTS, request.config.cache.mkdir("sam-translator"), "aws-sam-translator"
    )
    result = run_isolated(
        TRANSLATE,
        [translator],
        {"AWS_DEFAULT_REGION": "us-east-1"},
        stdin=json.dumps({"template": packaged, "parameters": DEPLOY_PARAMETERS}),
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
    resources: dict[str, Any],
) -> None:
    policies = resources["ApiFunction"]["Properties"]["Policies"]
    assert policies == [{"Version": "2012-10-17", "Statement": API_STATEMENTS}]


def test_no_statement_grants_a_wildcard_action_or_resource(resources: dict[str, Any]) -> None:
    # Given every policy statement written in the template
    statements = [
        statement
        for resource in resources.values()
        for policy in resource.get("Properties", {}).get("Policies", [])
        if isinstance(policy, dict)
        for statement in policy.get("Statement", [])
    ]
    assert statements
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources_ = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        # Then no action has a wildcard or scans, and no resource is "*" or a plain string pattern
        assert all("*" not in action for action in actions), statement
        assert "dynamodb:Scan" not in actions, statement
        assert all(isinstance(resource, dict) for resource in resources_), statement


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


def test_sam_gives_the_durable_function_the_managed_durable_execution_policy(
    translated: dict[str, Any],
) -> None:
    generated = translated["Resources"]
    function = generated["MathFunction"]["Properties"]
    role = generated[function["Role"]["Fn::GetAtt"][0]]["Properties"]

    assert function["DurableConfig"] == {
        "ExecutionTimeout": {"Ref": "ExecutionTimeoutSeconds"},
        "RetentionPeriodInDays": {"Ref": "RetentionPeriodInDays"},
        "KMSKeyArn": KMS_KEY,
    }
    # The managed policy grants logs plus lambda:CheckpointDurableExecution and
    # lambda:GetDurableExecutionState; beyond it, the Record step's update and the dead-letter queue.
    assert DURABLE_POLICY in role["ManagedPolicyArns"]
    assert {policy["PolicyName"]: policy["PolicyDocument"]["Statement"] for policy in role["Policies"]} == {
        "DeadLetterQueuePolicy": [
            {
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["MathFunctionDeadLetterQueue", "Arn"]},
                "Effect": "Allow",
            }
        ],
        "MathFunctionRolePolicy0": MATH_STATEMENTS,
    }


def role_of(generated: dict[str, Any], function: str) -> dict[str, Any]:
    return generated[generated[function]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]


def test_sam_keeps_the_api_role_to_the_declared_statements(translated: dict[str, Any]) -> None:
    role = role_of(translated["Resources"], "ApiFunction")

    assert [policy["PolicyDocument"]["Statement"] for policy in role["Policies"]] == [API_STATEMENTS]
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    ]


def test_sam_keeps_the_projector_role_to_the_table_the_fallback_read_and_its_queue(
    translated: dict[str, Any],
) -> None:
    role = role_of(translated["Resources"], "StatusProjectorFunction")

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


def test_the_functions_and_the_local_twin_use_the_key_schema_the_template_deploys(
    translated: dict[str, Any],
) -> None:
    # Given the table's key schema the shared layer declares (the local twin creates it, the API
    # queries its index)
    from calculation_records import KEY_SCHEMA

    # Then the deployed table has exactly those keys and that index
    properties = translated["Resources"]["CalculationsTable"]["Properties"]
    assert {name: properties[name] for name in KEY_SCHEMA} == KEY_SCHEMA


def test_calculations_table_is_on_demand_keyed_by_execution_name_with_the_owner_index(
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
    ]
    assert properties["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "byOwner",
            "KeySchema": [
                {"AttributeName": "owner", "KeyType": "HASH"},
                {"AttributeName": "startedAt", "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": ["id", "status", "endedAt", "expiresAt"],
            },
        }
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
        "WebhookDeliveryFunction": "WebhookDeliveryDeadLetterQueue",
    }

    for function, queue in queues.items():
        dead_letters = generated[function]["Properties"]["DeadLetterConfig"]
        assert dead_letters == {"TargetArn": {"Fn::GetAtt": [queue, "Arn"]}}
        assert generated[queue]["Properties"]["SqsManagedSseEnabled"] is True
    # API Gateway calls the API function synchronously: it has none
    assert "DeadLetterConfig" not in generated["ApiFunction"]["Properties"]


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
    assert len(log_groups) == 5
    for log_group in log_groups:
        assert generated[log_group]["Properties"]["KmsKeyId"] == KMS_KEY, log_group
    assert generated["MathFunction"]["Properties"]["DurableConfig"]["KMSKeyArn"] == KMS_KEY


@pytest.mark.parametrize(
    ("function", "parameter", "default"),
    [
        ("MathFunction", "MathFunctionReservedConcurrency", 100),
        ("ApiFunction", "ApiFunctionReservedConcurrency", 100),
        ("StatusProjectorFunction", "StatusProjectorReservedConcurrency", 20),
        ("WebhookDeliveryFunction", "WebhookDeliveryReservedConcurrency", 20),
    ],
)
def test_each_function_reserves_its_concurrency_from_a_parameter_where_0_reserves_nothing(
    template: dict[str, Any], translated: dict[str, Any], function: str, parameter: str, default: int
) -> None:
    reserved = translated["Resources"][function]["Properties"]["ReservedConcurrentExecutions"]
    condition, value, otherwise = reserved["Fn::If"]

    assert (value, otherwise) == ({"Ref": parameter}, {"Ref": "AWS::NoValue"})
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, "0"]}]}
    assert (template["Parameters"][parameter]["Default"], template["Parameters"][parameter]["MinValue"]) == (
        default,
        0,
    )


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
