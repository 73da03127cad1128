"""The webhook delivery function, its table and its role, as template.yaml deploys them."""

from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from test_template import TEMPLATE, deployed, role_of, template, translated  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))["Resources"]


def test_the_delivery_function_is_durable_long_enough_for_the_schedule_behind_an_alias(resources):
    function = resources["WebhookDeliveryFunction"]["Properties"]

    assert function["AutoPublishAlias"] == "live"
    # The schedule waits about 75 hours: the execution may run four days
    assert function["DurableConfig"]["ExecutionTimeout"] == 345600
    assert function["Environment"]["Variables"]["WEBHOOK_RETRY_SCHEDULE"] == {"Ref": "WebhookRetrySchedule"}
    assert function["DeadLetterQueue"] == {
        "Type": "SQS",
        "TargetArn": {"Fn::GetAtt": ["WebhookDeliveryDeadLetterQueue", "Arn"]},
    }


def test_the_delivery_role_reads_endpoints_and_writes_deliveries_only(translated):  # noqa: F811 (the fixture)
    generated = deployed(translated, {})
    role = role_of(generated, "WebhookDeliveryFunction")

    # Its own role, no managed policy: logs, traces, its queue and the webhooks table's items
    assert "ManagedPolicyArns" not in role
    assert [policy["PolicyDocument"]["Statement"] for policy in role["Policies"]] == [
        [
            {
                "Sid": "WriteLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": {"Fn::GetAtt": ["WebhookDeliveryFunctionLogGroup", "Arn"]},
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
                "Resource": {"Fn::GetAtt": ["WebhookDeliveryDeadLetterQueue", "Arn"]},
            },
            {
                "Sid": "DeliverWebhooks",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                "Resource": {"Fn::GetAtt": ["WebhooksTable", "Arn"]},
            },
        ]
    ]
    # And the SDK's checkpoint and state calls on its own executions only
    own = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${WebhookDeliveryFunction}"
    checkpoint = generated["WebhookDeliveryDurableExecution"]["Properties"]["PolicyDocument"]["Statement"]
    assert checkpoint == [
        {
            "Sid": "CheckpointOwnExecutions",
            "Effect": "Allow",
            "Action": ["lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"],
            "Resource": [{"Fn::Sub": own}, {"Fn::Sub": own + ":*"}],
        }
    ]


def test_the_webhooks_table_is_keyed_as_the_records_module_reads_it_and_encrypted_with_the_stack_key(
    resources,
):
    from webhook_records import KEY_SCHEMA

    table = resources["WebhooksTable"]["Properties"]

    assert table["KeySchema"] == KEY_SCHEMA["KeySchema"]
    assert table["AttributeDefinitions"] == KEY_SCHEMA["AttributeDefinitions"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["SSESpecification"]["KMSMasterKeyId"] == {
        "Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]
    }
