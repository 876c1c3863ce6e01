"""BatchEncryption: one customer-managed key for everything the constructs store (BK-X1 to BK-X6)."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks

from cdk_batchkit.constructs import (
    BatchEncryption,
    BatchMonitoring,
    Container,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    JobSchedule,
    JobStateNotifications,
    NotificationTopic,
    S3JobSubmitter,
    Step,
    Workflow,
)
from cdk_batchkit.model.keys import KeyDescription, KeyUser
from cdk_batchkit.model.rules.encryption import (
    key_in_region,
    key_is_symmetric,
    key_statements,
    plain_secret_names,
)
from tests.support import SAMPLE_IMAGE, fargate_queue_and_job, new_stack

IMAGE = ecs.ContainerImage.from_registry(SAMPLE_IMAGE)
KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _build(stack: cdk.Stack) -> None:
    BatchEncryption(stack, "Encryption")
    queue, job = fargate_queue_and_job(stack)  # the network's flow log group, the job's log group
    Ec2ComputeEnvironment(stack, "Ec2", network=stack.node.find_child("Network"), spot=True)
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Db", "db-password")
    ContainerJobDefinition(
        stack,
        "WithSecret",
        container=Container(image=IMAGE, secrets={"DB": batch.Secret.from_secrets_manager(secret)}),
    )
    submitter = S3JobSubmitter(stack, "Submitter", job_queue=queue, job_definition=job)
    uploads = sns.Topic(
        stack,
        "Uploads",
        enforce_ssl=True,
        master_key=kms.Alias.from_alias_name(stack, "SnsKey", "alias/aws/sns"),
    )
    submitter.subscribe_to(uploads)
    alerts = NotificationTopic(stack, "Alerts")
    JobStateNotifications(stack, "Failures", job_queues=[queue], topic=alerts)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict:
    # Synth raises on any unacknowledged cdk-nag finding (cfn-lint runs on the same resources, the key
    # policy included, in the kitchen-sink stack of tests/templates/test_reference_app.py).
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("encryption")))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Encrypted")
    _build(stack)
    return app.synth().get_stack_by_name("Encrypted").template


def _of_type(template: dict, type_name: str) -> dict[str, dict]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == type_name}


def _key(template: dict) -> tuple[str, dict]:
    ((key_id, props),) = _of_type(template, "AWS::KMS::Key").items()  # one key for everything
    return key_id, props


def _statement(template: dict, sid: str) -> dict:
    _, props = _key(template)
    (found,) = [s for s in props["KeyPolicy"]["Statement"] if s.get("Sid") == sid]
    return found


def _warnings(construct) -> list[str]:
    """Warnings added at construction (no synth needed: Annotations writes node metadata at once)."""
    return [str(m.data) for m in construct.node.metadata if m.type == "aws:cdk:warning"]


def test_one_rotated_retained_key_encrypts_everything(template):
    key_id, props = _key(template)
    assert props["EnableKeyRotation"] is True  # AwsSolutions-KMS5
    assert template["Resources"][key_id]["DeletionPolicy"] == "Retain"
    arn = {"Fn::GetAtt": [key_id, "Arn"]}
    groups = _of_type(template, "AWS::Logs::LogGroup")
    # the flow log, two job definitions, the submitter function
    assert len(groups) == 4 and all(g.get("KmsKeyId") == arn for g in groups.values())
    queues = _of_type(template, "AWS::SQS::Queue")
    # the submitter's queue and dead-letter queue, the notification rule's dead-letter queue
    assert len(queues) == 3 and all(q.get("KmsMasterKeyId") == arn for q in queues.values())
    assert all("SqsManagedSseEnabled" not in q for q in queues.values())
    (table,) = _of_type(template, "AWS::DynamoDB::Table").values()
    assert table["SSESpecification"] == {"KMSMasterKeyId": arn, "SSEEnabled": True, "SSEType": "KMS"}
    (bucket,) = _of_type(template, "AWS::S3::Bucket").values()
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule == {
        "BucketKeyEnabled": True,
        "ServerSideEncryptionByDefault": {"KMSMasterKeyID": arn, "SSEAlgorithm": "aws:kms"},
    }
    topics = _of_type(template, "AWS::SNS::Topic")
    assert [t for t in topics.values() if t["KmsMasterKeyId"] == arn]  # the alerts topic: no key of its own
    (launch_template,) = _of_type(template, "AWS::EC2::LaunchTemplate").values()
    (root,) = launch_template["LaunchTemplateData"]["BlockDeviceMappings"]
    assert root["Ebs"]["Encrypted"] is True and root["Ebs"]["KmsKeyId"] == arn


def test_key_policy_lets_cloudwatch_logs_encrypt_this_accounts_log_groups(template):
    statement = _statement(template, "CloudWatchLogsEncryptsLogGroups")
    principal = json.dumps(statement["Principal"]["Service"])
    assert '"logs."' in principal and "AWS::Region" in principal
    assert "kms:GenerateDataKey*" in statement["Action"] and "kms:Decrypt*" in statement["Action"]
    condition = json.dumps(statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    assert ":log-group:*" in condition and "AWS::AccountId" in condition


def test_key_policy_lets_the_instance_launchers_use_the_key_and_create_grants(template):
    use = _statement(template, "InstanceLaunchersUseKey")
    grants = _statement(template, "InstanceLaunchersCreateGrants")
    assert use["Principal"] == {"AWS": "*"} and grants["Principal"] == {"AWS": "*"}
    roles = json.dumps(use["Condition"]["ArnLike"]["aws:PrincipalArn"])
    for role in ("AWSServiceRoleForAutoScaling", "AWSServiceRoleForEC2Spot", "AWSServiceRoleForEC2SpotFleet"):
        assert role in roles
    assert use["Condition"]["StringEquals"] == {"kms:CallerAccount": {"Ref": "AWS::AccountId"}}
    assert grants["Action"] == "kms:CreateGrant"
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert grants["Condition"]["ArnLike"] == use["Condition"]["ArnLike"]


def test_key_policy_lets_eventbridge_sns_and_alarms_send_for_this_account_only(template):
    for sid, service in (
        ("EventsSendsEncrypted", "events"),
        ("SnsSendsEncrypted", "sns"),
        ("CloudwatchSendsEncrypted", "cloudwatch"),
    ):
        statement = _statement(template, sid)
        assert statement["Principal"] == {"Service": f"{service}.amazonaws.com"}
        assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_execution_role_decrypts_secrets_through_secrets_manager_and_ssm_only(template):
    key_id, _ = _key(template)
    policies = _of_type(template, "AWS::IAM::Policy")
    (execution,) = [p for k, p in policies.items() if k.startswith("WithSecretContainerExecutionRole")]
    (decrypt,) = [s for s in execution["PolicyDocument"]["Statement"] if s["Action"] == "kms:Decrypt"]
    assert decrypt["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    services = json.dumps(decrypt["Condition"]["StringEquals"]["kms:ViaService"])
    assert '"secretsmanager."' in services and '"ssm."' in services
    # The job without secrets gets no key permission.
    assert not [
        k for k in policies if k.startswith("JobContainerExecutionRole") and "kms" in json.dumps(policies[k])
    ]


def test_imported_key_warns_with_every_statement_to_add_and_still_grants_iam():
    stack = new_stack()
    encryption = BatchEncryption(stack, "Encryption", key=kms.Key.from_key_arn(stack, "Key", KEY_ARN))
    queue, job = fargate_queue_and_job(stack)
    Ec2ComputeEnvironment(stack, "Ec2", network=stack.node.find_child("Network"))
    schedule = JobSchedule(
        stack,
        "Nightly",
        job_definition=job,
        job_queue=queue,
        schedule=scheduler.ScheduleExpression.rate(cdk.Duration.hours(1)),
    )
    NotificationTopic(stack, "Alerts")
    warnings = "\n".join(_warnings(encryption))
    for rule, needle in (
        ("BK-X6", ":root"),
        ("BK-X1", "kms:EncryptionContext:aws:logs:arn"),
        ("BK-X2", "AWSServiceRoleForAutoScaling"),
        ("BK-X3", "events.amazonaws.com"),
        ("BK-X4", "cloudwatch.amazonaws.com"),
    ):
        assert f"[{rule}]" in warnings and needle in warnings, rule
    # Readable statements: intrinsics spelled as <AWS::Region>, never a raw token or Fn:: object.
    assert KEY_ARN in warnings and "logs.<AWS::Region>.amazonaws.com" in warnings
    assert "Token[" not in warnings and "Fn::" not in warnings
    # The IAM side is still granted: the schedule's role may send to its encrypted dead-letter queue.
    statements = json.dumps(
        cdk.Stack.of(stack).resolve(schedule.role.node.find_child("DefaultPolicy").document.to_json())
    )
    assert KEY_ARN in statements and "kms:GenerateDataKey" in statements


def test_notification_topic_with_an_imported_key_warns_instead_of_dropping_the_statements():
    stack = new_stack()
    topic = NotificationTopic(stack, "Alerts", key=kms.Key.from_key_arn(stack, "Key", KEY_ARN))
    warnings = "\n".join(_warnings(topic))
    assert (
        "[BK-X4]" in warnings
        and "events.amazonaws.com" in warnings
        and "cloudwatch.amazonaws.com" in warnings
    )


def test_plain_environment_variable_named_like_a_secret_warns():
    stack = new_stack()
    BatchEncryption(stack, "Encryption")
    job = ContainerJobDefinition(
        stack, "Job", container=Container(image=IMAGE, environment={"DB_PASSWORD": "x", "MODE": "fast"})
    )
    (warning,) = [w for w in _warnings(job) if "BK-X5" in w]
    assert "DB_PASSWORD" in warning and "MODE" not in warning and "secrets=" in warning


def test_rejects_encryption_created_after_the_constructs_it_covers():
    stack = new_stack()
    fargate_queue_and_job(stack)
    with pytest.raises(
        ValueError, match=r"BatchEncryption=.*create it before the constructs it encrypts.*Network"
    ):
        BatchEncryption(stack, "Encryption")


def test_rejects_a_second_encryption_on_the_same_scope():
    stack = new_stack()
    BatchEncryption(stack, "Encryption")
    with pytest.raises(ValueError, match=r"already has one"):
        BatchEncryption(stack, "Again")


def test_without_encryption_nothing_asks_for_a_key():
    stack = new_stack()
    queue, job = fargate_queue_and_job(stack)
    assert job.log_group is not None and job.log_group.node.default_child.kms_key_id is None
    assert not [c for c in stack.node.find_all() if isinstance(c, kms.Key)]


def test_workflow_schedule_and_monitoring_use_the_key_without_a_synth():
    stack = new_stack()
    encryption = BatchEncryption(stack, "Encryption")
    queue, job = fargate_queue_and_job(stack)
    alerts = NotificationTopic(stack, "Alerts")
    workflow = Workflow(stack, "Flow", steps=[Step("one", job, queue)], topic=alerts)
    schedule = JobSchedule(
        stack,
        "Nightly",
        job_definition=job,
        job_queue=queue,
        schedule=scheduler.ScheduleExpression.cron(minute="0", hour="2"),
    )
    monitoring = BatchMonitoring(stack, "Monitoring", job_queues=[queue], topic=alerts, dashboard=False)
    arn = stack.resolve(encryption.key.key_arn)
    assert stack.resolve(alerts.topic.node.default_child.kms_master_key_id) == arn
    # The workflow's, the job-state events' and the backlog function's log groups.
    groups = [c for s in (workflow, monitoring) for c in s.node.find_all() if isinstance(c, logs.CfnLogGroup)]
    assert len(groups) == 3 and all(stack.resolve(g.kms_key_id) == arn for g in groups)
    # Scheduler sends to the encrypted dead-letter queue as the schedule's role (BK-X3).
    policy = stack.resolve(schedule.role.node.find_child("DefaultPolicy").document.to_json())
    assert {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Effect": "Allow",
        "Resource": arn,
    } in policy["Statement"]


# -- the key rules on model values (no stack) ---------------------------------------------------------
def test_key_policy_statements_are_decided_by_the_model_per_user():
    by_user = {
        user: key_statements(user, account="111122223333", region="eu-west-1", partition="aws")
        for user in KeyUser
    }
    (logs_statement,) = by_user[KeyUser.LOGS]
    assert logs_statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs_statement["Condition"]["ArnLike"] == {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111122223333:log-group:*"
    }
    use, grants = by_user[KeyUser.EBS]
    assert use["Principal"] == {"AWS": "*"} and grants["Action"] == "kms:CreateGrant"
    assert len(use["Condition"]["ArnLike"]["aws:PrincipalArn"]) == 3
    assert [
        s["Principal"]["Service"]
        for u in (KeyUser.EVENTS, KeyUser.SNS, KeyUser.CLOUDWATCH)
        for s in by_user[u]
    ] == [
        "events.amazonaws.com",
        "sns.amazonaws.com",
        "cloudwatch.amazonaws.com",
    ]
    assert by_user[KeyUser.IAM][0]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    # Each user's statements come from the rule named by its rule id.
    assert {u: u.rule_id for u in KeyUser} == {
        KeyUser.LOGS: "BK-X1",
        KeyUser.EBS: "BK-X2",
        KeyUser.EVENTS: "BK-X3",
        KeyUser.SNS: "BK-X3",
        KeyUser.CLOUDWATCH: "BK-X4",
        KeyUser.EVENTS_TO_TOPIC: "BK-X4",
        KeyUser.IAM: "BK-X6",
    }
    # EventBridge publishing to a topic: no source condition (SNS topic policies for EventBridge cannot
    # use Condition blocks), the actions EventBridge documents for encrypted topics.
    (topic_events,) = by_user[KeyUser.EVENTS_TO_TOPIC]
    assert (
        topic_events["Principal"] == {"Service": "events.amazonaws.com"} and "Condition" not in topic_events
    )
    assert topic_events["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_warns_on_plain_environment_variables_named_like_secrets_in_the_model():
    (problem,) = plain_secret_names(["MODE", "DB_PASSWORD", "api_key", "${Token[TOKEN.3]}"])
    assert problem.warning and problem.rule == "BK-X5" and problem.value == ["DB_PASSWORD", "api_key"]
    assert plain_secret_names(["MODE", "REGION"]) == []


@pytest.mark.parametrize(
    ("spec", "usage"),
    [("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC")],
)
def test_rejects_keys_that_are_not_symmetric_encryption_keys(spec, usage):
    (problem,) = key_is_symmetric(KeyDescription("S/Key", key_spec=spec, key_usage=usage))
    assert (problem.rule, problem.prop, problem.warning) == ("BK-X7", "key", False) and spec in problem.why


def test_warns_on_an_imported_key_whose_spec_synth_cannot_see():
    (problem,) = key_is_symmetric(KeyDescription(KEY_ARN, key_spec=None, key_usage=None, imported=True))
    assert problem.warning and problem.rule == "BK-X7" and "SYMMETRIC_DEFAULT" in problem.why
    assert key_is_symmetric(KeyDescription("S/Key")) == []


def test_rejects_a_key_in_another_region():
    (problem,) = key_in_region(KeyDescription(KEY_ARN, region="eu-west-1"), "us-east-1")
    assert (problem.rule, problem.warning) == ("BK-X8", False) and "eu-west-1" in problem.why


def test_warns_when_the_keys_region_cannot_be_compared_with_the_stacks():
    token = "${Token[AWS.Region.7]}"
    (problem,) = key_in_region(KeyDescription(KEY_ARN, region="eu-west-1"), token)
    assert problem.warning and problem.rule == "BK-X8" and "deploy this stack to eu-west-1" in problem.why
    # The same token (a key of the app, an alias) is the same Region; unknown Regions are skipped.
    assert key_in_region(KeyDescription("S/Key", region=token), token) == []
    assert key_in_region(KeyDescription("S/Key", region=None), "us-east-1") == []


# -- the key rules through the constructs ---------------------------------------------------------------
def test_rejects_an_asymmetric_key_for_batch_encryption_and_an_hmac_key_for_a_topic():
    stack = new_stack()
    rsa = kms.Key(stack, "Rsa", key_spec=kms.KeySpec.RSA_2048, key_usage=kms.KeyUsage.ENCRYPT_DECRYPT)
    with pytest.raises(ValueError, match=r"Test/Encryption: key='Test/Rsa' is invalid: is a RSA_2048 key"):
        BatchEncryption(stack, "Encryption", key=rsa)
    hmac = kms.Key(stack, "Hmac", key_spec=kms.KeySpec.HMAC_256, key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC)
    with pytest.raises(ValueError, match=r"Test/Alerts: key='Test/Hmac' is invalid: is a HMAC_256 key"):
        NotificationTopic(stack, "Alerts", key=hmac)


def test_rejects_a_key_from_another_region():
    stack = cdk.Stack(cdk.App(), "Pinned", env=cdk.Environment(account="111122223333", region="us-east-1"))
    key = kms.Key.from_key_arn(stack, "Key", KEY_ARN)  # eu-west-1
    with pytest.raises(ValueError, match=r"key='arn:aws:kms:eu-west-1:.*' is invalid: is in eu-west-1 but"):
        BatchEncryption(stack, "Encryption", key=key)


def test_warns_on_an_imported_key_in_an_environment_agnostic_stack():
    stack = new_stack()
    encryption = BatchEncryption(stack, "Encryption", key=kms.Key.from_key_arn(stack, "Key", KEY_ARN))
    warnings = "\n".join(_warnings(encryption))
    assert "batchkit:BK-X7" in warnings and "batchkit:BK-X8" in warnings
    assert "deploy this stack to eu-west-1" in warnings
