"""Template-level checks: cdk-nag, cfn-lint and idle cost of the reference app and a kitchen-sink stack.

Each variant is synthesized once for the module; the checks read the cloud assembly on disk,
exactly as `make synth` does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_eks as eks
from aws_cdk import aws_fsx as fsx
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as sm
from cdk_nag import AwsSolutionsChecks

from app import build_app
from cdk_batchkit import plan
from cdk_batchkit.constructs import (
    AllocationStrategy,
    Architecture,
    BatchEncryption,
    BatchMonitoring,
    BatchNetwork,
    ConsumableResource,
    Container,
    ContainerCondition,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    EcsTaskJobDefinition,
    EksComputeEnvironment,
    EksContainer,
    EksJobDefinition,
    FairShare,
    FargateComputeEnvironment,
    FireLens,
    JobLogArchive,
    JobQueue,
    JobStateNotifications,
    LinuxParameters,
    LustreMount,
    LustreVolume,
    ManagedInstancesComputeEnvironment,
    MultiNodeJobDefinition,
    NetworkMode,
    NodeOverride,
    NotificationTopic,
    Platform,
    SageMakerTrainingEnvironment,
    SageMakerTrainingQueue,
    Step,
    TaskContainer,
    UnmanagedComputeEnvironment,
    Workflow,
    acknowledge,
)
from tests import CFN_VALIDATION

ROOT = Path(__file__).resolve().parents[2]
CDK_JSON_CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")
INSTANCE_ROLE_ACK = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AmazonEC2ContainerServiceforEC2Role]"
)


def _synth_reference(outdir: Path, **context: object) -> Path:
    app = cdk.App(
        outdir=str(outdir),
        context={**CDK_JSON_CONTEXT, **context},
        builtin_cloud_formation_validation=True,  # as `cdk synth` runs it (the suite's default is off)
    )
    build_app(app).synth()
    return outdir


def _kitchen_sink(outdir: Path) -> Path:
    """Every construct variant the unit tests cover, in one stack, under the same nag plugin."""
    app = cdk.App(outdir=str(outdir), builtin_cloud_formation_validation=True)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    stack = cdk.Stack(app, "KitchenSink")
    BatchEncryption(stack, "Encryption")  # one customer-managed key for everything below
    net = BatchNetwork(stack, "Network", mode=NetworkMode.PRIVATE_WITH_NAT, max_azs=1)
    # FSx for Lustre at its smallest (SCRATCH_2, 1,200 GiB), mounted by both environments of the queue.
    scratch = LustreMount(
        fsx.LustreFileSystem(
            stack,
            "Lustre",
            vpc=net.vpc,
            vpc_subnet=net.vpc.private_subnets[0],
            storage_capacity_gib=1200,
            lustre_configuration=fsx.LustreConfiguration(deployment_type=fsx.LustreDeploymentType.SCRATCH_2),
        )
    )
    arm_spot = Ec2ComputeEnvironment(
        stack,
        "ArmSpotBestFit",
        network=net,
        spot=True,
        architecture=Architecture.ARM64,
        allocation_strategy=batch.AllocationStrategy.BEST_FIT,
        spot_bid_percentage=60,
        user_data_commands=["echo boot"],
        lustre=[scratch],
    )
    arm_od = Ec2ComputeEnvironment(
        stack,
        "ArmOnDemand",
        network=net,
        architecture=Architecture.ARM64,
        multi_node=True,
        cluster_placement=True,
        lustre=[scratch],
    )
    arm_queue = JobQueue.spot_first(
        stack,
        "ArmQueue",
        spot=arm_spot,
        on_demand=arm_od,
        fair_share=FairShare(shares={"teamA": 1, "teamB*": 2}),
    )
    fargate_queue = JobQueue(
        stack,
        "FargateQueue",
        compute_environments=[FargateComputeEnvironment(stack, "Fargate", network=net)],
        cancel_stuck_jobs=False,
    )
    unmanaged_queue = JobQueue(
        stack, "UnmanagedQueue", compute_environments=[UnmanagedComputeEnvironment(stack, "Unmanaged")]
    )
    job = ContainerJobDefinition(
        stack,
        "ArmJob",
        container=Container(image=IMAGE, vcpus=2, volumes=[LustreVolume(scratch, container_path="/data")]),
    )
    mnp = MultiNodeJobDefinition(
        stack,
        "Mnp",
        container=Container(image=IMAGE, vcpus=2),
        nodes=2,
    )
    licences = ConsumableResource(stack, "Licences", total_quantity=2)
    fargate_job = ContainerJobDefinition(
        stack,
        "FargateArm",
        container=Container(image=IMAGE, vcpus=1),
        platform=Platform.FARGATE,
        architecture=Architecture.ARM64,
        consumable_resources={licences: 1},
    )
    registry = sm.Secret(stack, "RegistryCredentials")
    acknowledge(
        registry,
        "SMG4",
        "Private registry credentials are issued and rotated by the registry's owner, not by a rotation "
        "function in this account.",
    )
    options_job = ContainerJobDefinition(
        stack,
        "OptionsJob",
        container=Container(
            image=IMAGE,
            user="1000:1000",
            privileged=True,
            ulimits=[batch.Ulimit(name=batch.UlimitName.NOFILE, soft_limit=4096, hard_limit=8192)],
            linux_parameters=LinuxParameters(
                init_process=True,
                shared_memory=cdk.Size.mebibytes(256),
                tmpfs=[batch.Tmpfs(container_path="/scratch", size=cdk.Size.mebibytes(256))],
                devices=[batch.Device(host_path="/dev/fuse")],
            ),
            repository_credentials=registry,
            volumes=[batch.EcsVolume.host(name="cache", container_path="/cache", host_path="/var/cache/job")],
        ),
    )
    sidecar_job = EcsTaskJobDefinition(
        stack,
        "SidecarJob",
        containers=[
            TaskContainer(
                image=IMAGE,
                name="app",
                depends_on={"init": ContainerCondition.SUCCESS, "router": ContainerCondition.START},
                logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
            ),
            TaskContainer(image=IMAGE, name="init", essential=False, memory=cdk.Size.mebibytes(256)),
            TaskContainer(image=IMAGE, name="router", essential=False, firelens=FireLens()),
        ],
    )
    fargate_sidecar_job = EcsTaskJobDefinition(
        stack,
        "FargateSidecarJob",
        platform=Platform.FARGATE,
        containers=[
            TaskContainer(image=IMAGE, name="app", vcpus=0.5, memory=cdk.Size.mebibytes(1024)),
            TaskContainer(
                image=IMAGE, name="sidecar", essential=False, vcpus=0.5, memory=cdk.Size.mebibytes(1024)
            ),
        ],
    )
    _compute_options(stack, net)
    submitter = iam.Role(stack, "Submitter", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    job.grant_submit(submitter, arm_queue)
    options_job.grant_submit(submitter, arm_queue)
    sidecar_job.grant_submit(submitter, arm_queue)
    fargate_sidecar_job.grant_submit(submitter, fargate_queue)
    mnp.grant_submit(submitter, arm_queue)
    fargate_job.grant_submit(submitter, fargate_queue)
    Workflow(
        stack,
        "Flow",
        steps=[
            Step("licensed", fargate_job, fargate_queue, consumable_resources={licences: 2}),
            Step(
                "mpi",
                mnp,
                arm_queue,
                share_identifier="teamA",
                node_overrides=[NodeOverride(environment={"ROLE": "worker"}, vcpus=4)],
            ),
        ],
    )
    unmanaged_queue.add_job_definition(
        ContainerJobDefinition(
            stack,
            "UnmanagedJob",
            container=Container(image=IMAGE),
        )
    )
    # Batch on EKS, on an imported cluster (no kubectl, so namespace/RBAC are left to a synth warning).
    cluster = eks.Cluster.from_cluster_attributes(
        stack, "Cluster", cluster_name="batch", vpc=net.vpc, cluster_security_group_id="sg-0123456789abcdef0"
    )
    eks_queue = JobQueue(
        stack,
        "EksQueue",
        compute_environments=[
            EksComputeEnvironment(
                stack,
                "EksSpot",
                cluster=cluster,
                network=net,
                spot=True,
                authentication_mode=eks.AuthenticationMode.API_AND_CONFIG_MAP,
                kubernetes_version="1.33",
            )
        ],
    )
    eks_job = EksJobDefinition(
        stack,
        "EksJob",
        container=EksContainer(
            image=IMAGE,
            command=["sleep", "60"],
            run_as_user=1000,
            volumes=[batch.EksVolume.empty_dir(name="scratch", mount_path="/scratch")],
        ),
    )
    eks_job.grant_submit(submitter, eks_queue)
    JobStateNotifications(
        stack, "Failures", job_queues=[fargate_queue], topic=NotificationTopic(stack, "Alerts")
    )
    # Job logs archived to S3, and the cost metrics per queue and per definition.
    JobLogArchive(stack, "LogArchive", job_definitions=[job, mnp, fargate_job])
    BatchMonitoring(
        stack, "Monitoring", job_queues=[arm_queue, fargate_queue], cost_job_definitions=[job, fargate_job]
    )
    app.synth()
    return outdir


def _compute_options(stack: cdk.Stack, net: BatchNetwork) -> None:
    """Issue 12's compute options and the two new kinds, as the kitchen sink uses them."""
    user_data = ec2.MultipartUserData()
    user_data.add_user_data_part(ec2.UserData.for_linux(), ec2.MultipartBody.SHELL_SCRIPT, True)
    own_template = ec2.LaunchTemplate(
        stack,
        "OwnTemplate",
        require_imdsv2=True,
        http_put_response_hop_limit=1,
        user_data=user_data,
        block_devices=[
            ec2.BlockDevice(
                device_name="/dev/xvda",
                volume=ec2.BlockDeviceVolume.ebs(60, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3),
            )
        ],
    )
    options = Ec2ComputeEnvironment(
        stack,
        "Options",
        network=net,
        launch_template=own_template,
        machine_image="ami-0123456789abcdef0",
        key_pair=ec2.KeyPair.from_key_pair_name(stack, "OpsKey", "ops-key"),
        security_groups=[ec2.SecurityGroup(stack, "ExtraGroup", vpc=net.vpc, description="extra group")],
        vpc_subnets=ec2.SubnetSelection(availability_zones=[net.vpc.private_subnets[0].availability_zone]),
        tags={"team": "sink"},
        instance_types=["m7i.large", "m7i"],
        allocation_strategy=AllocationStrategy.BEST_FIT_PROGRESSIVE_ORDERED,
    )
    prioritized = Ec2ComputeEnvironment(
        stack,
        "Prioritized",
        network=net,
        spot=True,
        tags={"team": "sink"},
        allocation_strategy=AllocationStrategy.SPOT_CAPACITY_OPTIMIZED_PRIORITIZED,
    )
    JobQueue(stack, "DisabledQueue", compute_environments=[options, prioritized], enabled=False)
    managed_queue = JobQueue(
        stack,
        "ManagedInstancesQueue",
        compute_environments=[
            ManagedInstancesComputeEnvironment(stack, "ManagedInstances", network=net),
            ManagedInstancesComputeEnvironment(
                stack, "ManagedInstancesSpot", network=net, spot=True, instance_types=["m7i.*"]
            ),
        ],
    )
    # An ECS Managed Instances job: ecsProperties only, host network mode, its runtime platform.
    managed_queue.add_job_definition(
        EcsTaskJobDefinition(
            stack,
            "ManagedInstancesJob",
            platform=Platform.MANAGED_INSTANCES,
            containers=[
                TaskContainer(image=IMAGE, name="app", vcpus=2, memory=cdk.Size.gibibytes(4)),
                TaskContainer(image=IMAGE, name="sidecar", essential=False, memory=cdk.Size.mebibytes(512)),
            ],
        )
    )
    training = SageMakerTrainingQueue(
        stack,
        "TrainingQueue",
        service_environments=[SageMakerTrainingEnvironment(stack, "Training", max_instances=4)],
    )
    trainer = iam.Role(stack, "Trainer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    training.grant_submit_service_job(
        trainer,
        training_role=iam.Role(
            stack, "TrainingRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        ),
    )


# The `assemblies` fixture (tests/templates/conftest.py) builds each variant once per session, for this
# module and the template-wide checks alike.


@pytest.mark.parametrize("variant", ["default", "gpu-endpoints", "nat", "kitchen-sink"])
def test_zero_unacknowledged_nag_findings(assemblies, variant):
    # Synth would already have raised on a finding; the report must also say so.
    report = json.loads((assemblies[variant] / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []
    assert plan.validation_failures(assemblies[variant]) == []


@pytest.mark.parametrize("variant", ["default", "gpu-endpoints", "nat", "kitchen-sink"])
def test_cfn_lint_has_zero_errors_and_zero_warnings(assemblies, variant):
    # Warnings too: W3005 caught the L2 Function and our Workflow rendering DependsOn their role, which
    # the RoleArn GetAtt already orders (only the DependsOn on the role's policy is needed). One lint run
    # per variant: cfn-lint is the slowest part of this module.
    templates = sorted(assemblies[variant].glob("*.template.json"))
    assert templates
    findings = plan.lint(templates)
    assert findings == [], "\n".join(f"{f.rule_id} {f.location}: {f.message}" for f in findings)


def test_reference_app_acknowledges_only_expected_rules_and_iam5_narrowly(assemblies):
    report = json.loads((assemblies["default"] / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    names = {v["ruleName"] for v in nag["suppressedViolations"]}
    assert INSTANCE_ROLE_ACK in names
    assert {n.split("[")[0] for n in names} == {
        "AwsSolutions-IAM4",  # the ECS instance policy only
        "AwsSolutions-IAM5",  # one finding at a time (below)
        "AwsSolutions-L1",  # Python 3.13 pinned with the Powertools layer
        "AwsSolutions-S1",  # input bucket access logs
        "AwsSolutions-SF2",  # X-Ray is opt-in
        "AwsSolutions-SQS3",  # dead-letter queues themselves
        "AwsSolutions-DDB3",  # idempotency records
    }
    iam4 = {n for n in names if n.startswith("AwsSolutions-IAM4")}
    assert iam4 == {INSTANCE_ROLE_ACK}
    # Every wildcard is acknowledged finding by finding, never for a whole construct.
    assert all(n.startswith("AwsSolutions-IAM5[") for n in names if "IAM5" in n)


def test_every_acknowledgement_has_a_reason_written_into_the_template(assemblies):
    for variant in ("default", "kitchen-sink"):
        report = json.loads((assemblies[variant] / "validation-report.json").read_text())
        (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
        written = set()
        for tpl in assemblies[variant].glob("*.template.json"):
            for res in json.loads(tpl.read_text())["Resources"].values():
                for rule in res.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                    written.add((rule["id"], rule["reason"]))
        assert nag["suppressedViolations"]
        for violation in nag["suppressedViolations"]:
            assert len(violation["reason"]) > 40, violation
            assert (violation["acknowledgedId"], violation["reason"]) in written


def test_nag_plugin_is_live_in_this_harness(tmp_path):
    """Guards the zero-findings tests: the same plugin does fail a plain L2 compute environment."""
    app = cdk.App(outdir=str(tmp_path))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    stack = cdk.Stack(app, "PlainL2")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        max_azs=1,
        subnet_configuration=[ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC)],
    )
    batch.ManagedEc2EcsComputeEnvironment(stack, "Ce", vpc=vpc)
    with pytest.raises(RuntimeError, match=r"ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"].split("[")[0] for r in report["pluginReports"] for v in r["violations"]}
    assert {"AwsSolutions-VPC7", "AwsSolutions-IAM4"} <= rules


def test_reference_app_idle_cost_is_only_fixed_monitoring_prices(assemblies):
    templates = plan.load_templates(assemblies["default"])
    priced = [line for line in plan.idle_cost(templates) if line.monthly_usd]
    by_type: dict[str, float] = {}
    for line in priced:
        by_type[line.resource_type] = round(by_type.get(line.resource_type, 0) + line.monthly_usd, 2)
    # No NAT, endpoint, instance or provisioned capacity: only the dashboard ($3), eight alarms
    # (nine metrics at $0.10) and the notification topic's KMS key ($1).
    assert by_type == {
        "AWS::CloudWatch::Dashboard": 3.00,
        "AWS::CloudWatch::Alarm": 0.90,
        "AWS::KMS::Key": 1.00,
    }
    assert round(plan.total_monthly(priced), 2) == 4.90
    no_dashboard = _synth_reference(assemblies["default"].parent / "nodash", **{"batchkit:dashboard": False})
    assert round(plan.total_monthly(plan.idle_cost(plan.load_templates(no_dashboard))), 2) == 1.90


def test_network_modes_cost_what_the_docs_say(assemblies):
    def network_cost(variant: str) -> float:
        lines = plan.idle_cost(plan.load_templates(assemblies[variant]))
        network = {"AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::EC2::VPCEndpoint"}
        return round(sum(line.monthly_usd or 0 for line in lines if line.resource_type in network), 2)

    # 2 NAT gateways ($32.85 each) and their Elastic IPs ($3.65 each, public IPv4)
    assert network_cost("nat") == 73.00
    assert network_cost("gpu-endpoints") == 102.20  # 7 interface endpoints x 2 AZs
    assert network_cost("default") == 0


def test_reference_app_shape(assemblies):
    templates = plan.load_templates(assemblies["default"])
    counts = plan.total_by_type(plan.resources_by_type(templates))
    assert counts["AWS::Batch::ComputeEnvironment"] == 4
    assert counts["AWS::Batch::JobQueue"] == 2
    # No multi-node job on the public network: its nodes would get no public IP (BK-N1).
    assert counts["AWS::Batch::JobDefinition"] == 2
    assert counts["AWS::EC2::NatGateway"] == 0 and counts["AWS::EC2::VPCEndpoint"] == 0
    assert counts["AWS::StepFunctions::StateMachine"] == 1 and counts["AWS::Scheduler::Schedule"] == 1
    assert counts["AWS::Lambda::Function"] == 2  # the submitter and the backlog function
    assert counts["AWS::CloudWatch::Dashboard"] == 1
    gpu = plan.total_by_type(plan.resources_by_type(plan.load_templates(assemblies["gpu-endpoints"])))
    assert gpu["AWS::Batch::JobQueue"] == 3 and gpu["AWS::Batch::JobDefinition"] == 4


def _resources(assembly: Path, type_name: str) -> list[dict]:
    return [r for r in _all_resources(assembly) if r["Type"] == type_name]


def _all_resources(assembly: Path) -> list[dict]:
    return [r for t in plan.load_templates(assembly) for r in t.body["Resources"].values()]


@pytest.mark.parametrize("variant", ["nat", "gpu-endpoints"])
def test_multi_node_job_only_where_it_can_run(assemblies, variant):
    mnp = [
        r
        for r in _resources(assemblies[variant], "AWS::Batch::JobDefinition")
        if r["Properties"]["Type"] == "multinode"
    ]
    assert len(mnp) == 1
    # Its nodes reach each other: one self-referencing all-traffic rule on the cluster security group.
    (rule,) = [
        r["Properties"]
        for r in _resources(assemblies[variant], "AWS::EC2::SecurityGroupIngress")
        if r["Properties"].get("IpProtocol") == "-1"
    ]
    assert rule["SourceSecurityGroupId"] == rule["GroupId"]
    on_demand = [
        r["Properties"]["ComputeResources"]
        for r in _resources(assemblies[variant], "AWS::Batch::ComputeEnvironment")
        if r["Properties"]["ComputeResources"]["Type"] == "EC2"
    ]
    assert sorted(len(c["SecurityGroupIds"]) for c in on_demand)[-1] == 2


def test_public_reference_app_has_no_multi_node_job_and_no_inbound_rule(assemblies):
    types = {r["Properties"]["Type"] for r in _resources(assemblies["default"], "AWS::Batch::JobDefinition")}
    assert types == {"container"}
    assert _resources(assemblies["default"], "AWS::EC2::SecurityGroupIngress") == []


def test_every_job_definition_keeps_old_revisions(assemblies):
    for variant in ("default", "gpu-endpoints", "nat", "kitchen-sink"):
        for res in _resources(assemblies[variant], "AWS::Batch::JobDefinition"):
            assert res["Properties"]["ResourceRetentionPolicy"] == {"SkipDeregisterOnUpdate": True}


def test_fargate_environments_render_no_update_policy(assemblies):
    for variant in ("default", "nat"):
        for res in _resources(assemblies[variant], "AWS::Batch::ComputeEnvironment"):
            props = res["Properties"]
            fargate = props["ComputeResources"]["Type"].startswith("FARGATE")
            assert ("UpdatePolicy" in props) is not fargate
            assert ("ReplaceComputeEnvironment" in props) is not fargate


def test_endpoints_reference_app_pulls_only_from_ecr(assemblies):
    images = [
        r["Properties"]["ContainerProperties"]["Image"]
        for r in _resources(assemblies["gpu-endpoints"], "AWS::Batch::JobDefinition")
        if "ContainerProperties" in r["Properties"]
    ]
    assert images and all("dkr.ecr" in json.dumps(i) for i in images)


def test_reference_app_is_environment_agnostic(assemblies):
    manifest = json.loads((assemblies["default"] / "manifest.json").read_text())
    stack = next(a for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack")
    assert stack["environment"] == "aws://unknown-account/unknown-region"


@pytest.mark.slow
def test_pinned_cdk_cli_synthesizes_the_app(tmp_path):
    """`npx cdk synth` with the CLI pinned in package.json reads this aws-cdk-lib's assembly.

    ``--no-validation`` (unless BATCHKIT_TEST_CFN_VALIDATION=true): the app's process without
    aws-cdk-lib's built-in CloudFormation validation plugin, which the CLI takes no part in (loading it in
    that fresh process was about 8 s of this test's 14 s of CPU); the ``assemblies`` fixture synthesizes
    the same app with the plugin on.
    """
    if not (ROOT / "node_modules" / ".bin" / "cdk").exists():
        pytest.fail("node_modules is missing: run `make setup` (npm ci) first")
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1"}
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        [
            *("npx", "--no-install", "cdk", "--no-notices", "synth", "--quiet", "--output", str(out)),
            *([] if CFN_VALIDATION else ["--no-validation"]),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "BatchkitReference.template.json").is_file()
    # cdk.json carries aws-cdk-lib's recommended feature flags.
    assert "feature flags are not configured" not in result.stdout + result.stderr
    version = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert version == "2.1148.1"
    shutil.rmtree(out)


#: Each supported type -> how to check, in moto, that the kit created the handle's resource.
def _exists_in_moto(world, handle) -> bool:
    kind = handle.type
    if kind == "AWS::Batch::ComputeEnvironment":
        found = world.client("batch").describe_compute_environments(computeEnvironments=[handle.arn])
        return len(found["computeEnvironments"]) == 1
    if kind == "AWS::Batch::JobQueue":
        return len(world.client("batch").describe_job_queues(jobQueues=[handle.arn])["jobQueues"]) == 1
    if kind == "AWS::Batch::JobDefinition":
        found = world.client("batch").describe_job_definitions(jobDefinitions=[handle.arn])
        return len(found["jobDefinitions"]) == 1
    if kind == "AWS::Batch::ServiceEnvironment":  # moto has none: the kit's stand-in compute environment
        found = world.client("batch").describe_compute_environments(
            computeEnvironments=[handle.attributes["StandIn"]]
        )
        return len(found["computeEnvironments"]) == 1
    if kind == "AWS::Batch::SchedulingPolicy":
        found = world.client("batch").describe_scheduling_policies(arns=[handle.arn])
        return len(found["schedulingPolicies"]) == 1
    if kind == "AWS::S3::Bucket":
        return world.client("s3").head_bucket(Bucket=handle.ref)["ResponseMetadata"]["HTTPStatusCode"] == 200
    if kind == "AWS::SQS::Queue":
        return (
            "QueueArn"
            in world.client("sqs").get_queue_attributes(QueueUrl=handle.ref, AttributeNames=["QueueArn"])[
                "Attributes"
            ]
        )
    if kind == "AWS::DynamoDB::Table":
        return (
            world.client("dynamodb").describe_table(TableName=handle.ref)["Table"]["TableArn"] == handle.arn
        )
    if kind == "AWS::SNS::Topic":
        return "Attributes" in world.client("sns").get_topic_attributes(TopicArn=handle.arn)
    if kind == "AWS::IAM::Role":
        return world.client("iam").get_role(RoleName=handle.ref)["Role"]["Arn"] == handle.arn
    if kind == "AWS::Logs::LogGroup":
        groups = world.client("logs").describe_log_groups(logGroupNamePrefix=handle.ref)["logGroups"]
        return any(g["logGroupName"] == handle.ref for g in groups)
    if kind == "AWS::Events::Rule":
        return world.client("events").describe_rule(Name=handle.ref)["Name"] == handle.ref
    if kind == "AWS::StepFunctions::StateMachine":
        return (
            world.client("stepfunctions").describe_state_machine(stateMachineArn=handle.arn)["status"]
            == "ACTIVE"
        )
    if kind == "AWS::Lambda::Function":
        return handle.asset is not None and (handle.asset / handle.handler_name.split(".")[0]).exists()
    return True


@pytest.mark.parametrize("variant", ["default", "gpu-endpoints", "kitchen-sink"])
def test_testing_kit_builds_every_supported_resource_and_finds_it_by_path(
    assemblies, variant, batchkit_build
):
    from cdk_batchkit.testing import SUPPORTED_TYPES, Resource

    world = batchkit_build(assemblies[variant])
    template = world.stack.template["Resources"]
    expected = {k for k, v in template.items() if v["Type"] in SUPPORTED_TYPES}
    assert expected, "nothing the kit builds in this variant"
    assert {logical_id for _, logical_id in world.handles} == expected
    for (_, logical_id), handle in world.handles.items():
        assert handle.type == template[logical_id]["Type"]
        # The construct path (with the stack name, the trailing Resource, or neither) finds it again.
        path = handle.path
        assert world.find(path, Resource) is handle
        assert world.find(f"{world.stack.name}/{path}", type(handle)) is handle
        assert _exists_in_moto(world, handle), (variant, path)


def test_kitchen_sink_stores_everything_with_its_one_key(assemblies):
    """BatchEncryption reaches the constructs that store data, the log archive's bucket included."""
    resources = _all_resources(assemblies["kitchen-sink"])
    (key_id,) = [k for k, r in _keyed(assemblies["kitchen-sink"]).items() if r["Type"] == "AWS::KMS::Key"]
    log_groups = [r for r in resources if r["Type"] == "AWS::Logs::LogGroup"]
    assert log_groups and all(
        r["Properties"].get("KmsKeyId") == {"Fn::GetAtt": [key_id, "Arn"]} for r in log_groups
    )
    buckets = [r for r in resources if r["Type"] == "AWS::S3::Bucket"]
    assert buckets
    for bucket in buckets:
        (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        default = rule["ServerSideEncryptionByDefault"]
        assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]}}


def _keyed(assembly: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for tpl in assembly.glob("*.template.json"):
        out.update(json.loads(tpl.read_text())["Resources"])
    return out
