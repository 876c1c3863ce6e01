"""AWS Batch on EKS: EksComputeEnvironment, EksJobDefinition and the fit check across ECS and EKS.

One stack is synthesized for the module; rejections are constructed in small stacks without synth.
"""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_eks as eks
from aws_cdk.assertions import Match, Template

from cdk_batchkit.constructs import (
    Architecture,
    Container,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    EksComputeEnvironment,
    EksContainer,
    EksJobDefinition,
    JobQueue,
    batch_manifests,
)
from cdk_batchkit.model import ComputeKind, ContainerSpec, Platform, SubmitShape
from cdk_batchkit.model.eks import (
    EksClusterAccess,
    EksContainerSpec,
    EksEnvironmentSpec,
    EksPodSpec,
    EksVolumeSpec,
)
from cdk_batchkit.model.rules.eks import (
    SUPPORTED_KUBERNETES_VERSIONS,
    check_pod,
    eks_allocation_strategy,
    eks_cluster_setup,
    eks_gpu_architecture,
    eks_kubernetes_names,
    eks_kubernetes_version,
    eks_namespace,
    eks_network,
    eks_privileged,
    eks_resources,
    eks_volumes,
    render_pod,
)
from cdk_batchkit.testing import StackTemplate, build_world
from tests.support import SAMPLE_IMAGE, network, new_stack

IMAGE = ecs.ContainerImage.from_registry(SAMPLE_IMAGE)
API = eks.AuthenticationMode.API
CLUSTER_SG = "sg-0123456789abcdef0"


def _cluster(
    stack: cdk.Stack, net, name: str = "batch", construct_id: str = "Cluster", **attrs
) -> eks.ICluster:
    return eks.Cluster.from_cluster_attributes(stack, construct_id, cluster_name=name, vpc=net.vpc, **attrs)


class Built:
    def __init__(self) -> None:
        self.stack = stack = new_stack("Eks")
        net = network(stack)
        cluster = _cluster(stack, net, cluster_security_group_id=CLUSTER_SG)
        self.spot = EksComputeEnvironment(
            stack, "Spot", cluster=cluster, network=net, spot=True, authentication_mode=API
        )
        self.on_demand = EksComputeEnvironment(
            stack,
            "OnDemand",
            cluster=cluster,
            network=net,
            authentication_mode=API,
            kubernetes_version="1.33",
            root_volume_size=cdk.Size.gibibytes(60),
        )
        self.queue = JobQueue.spot_first(stack, "Queue", spot=self.spot, on_demand=self.on_demand)
        self.gpu = EksComputeEnvironment(
            stack,
            "Gpu",
            cluster=_cluster(stack, net, "other", "Other"),
            network=net,
            gpu=True,
            namespace="gpu",
        )
        self.job = EksJobDefinition(
            stack,
            "Job",
            container=EksContainer(
                image=IMAGE,
                vcpus=0.5,
                vcpus_limit=2,
                memory=cdk.Size.gibibytes(1),
                command=["python", "-c"],
                args=["print('hi')"],
                environment={"MODE": "test"},
                run_as_user=1000,
                volumes=[batch.EksVolume.empty_dir(name="scratch", mount_path="/scratch")],
            ),
            service_account="batch-jobs",
        )
        self.queue.add_job_definition(self.job)
        self.gpu_job = EksJobDefinition(
            stack, "GpuJob", container=EksContainer(image=IMAGE, gpus=1), host_network=True
        )
        JobQueue(stack, "GpuQueue", compute_environments=[self.gpu]).add_job_definition(self.gpu_job)
        self.template = Template.from_stack(stack)


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


# -- compute environment ----------------------------------------------------------------------------
def test_eks_environment_has_the_hardened_launch_template_referenced_by_version(built):
    built.template.has_resource_properties(
        "AWS::EC2::LaunchTemplate",
        {
            "LaunchTemplateData": Match.object_like(
                {
                    "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
                    "BlockDeviceMappings": [
                        {
                            "DeviceName": "/dev/xvda",
                            "Ebs": Match.object_like(
                                {"Encrypted": True, "VolumeType": "gp3", "VolumeSize": 60}
                            ),
                        }
                    ],
                }
            )
        },
    )
    built.template.has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {
            "EksConfiguration": {"EksClusterArn": Match.any_value(), "KubernetesNamespace": "aws-batch"},
            "ComputeResources": Match.object_like(
                {
                    "Type": "SPOT",
                    "MinvCpus": 0,
                    "AllocationStrategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
                    "InstanceTypes": ["c6i", "c7i", "c6a", "m6i", "m7i", "m6a", "r6i", "r7i", "c5", "m5"],
                    "Ec2Configuration": [{"ImageType": "EKS_AL2023"}],
                    "UpdateToLatestImageVersion": True,
                    # The nodes join the cluster security group (control plane, cluster DNS).
                    "SecurityGroupIds": [{"Fn::GetAtt": [Match.any_value(), "GroupId"]}, CLUSTER_SG],
                    "LaunchTemplate": Match.object_like(
                        {"Version": {"Fn::GetAtt": [Match.any_value(), "LatestVersionNumber"]}}
                    ),
                }
            ),
            "ReplaceComputeEnvironment": False,
            "UpdatePolicy": {"JobExecutionTimeoutMinutes": 30, "TerminateJobsOnUpdate": False},
        },
    )
    built.template.has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {
            "ComputeResources": Match.object_like(
                {
                    "Type": "EC2",
                    "InstanceTypes": ["default_x86_64"],
                    "Ec2Configuration": [{"ImageType": "EKS_AL2023", "ImageKubernetesVersion": "1.33"}],
                }
            )
        },
    )


def test_gpu_environment_uses_gpu_families_and_the_nvidia_eks_image(built):
    built.template.has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {
            "EksConfiguration": Match.object_like({"KubernetesNamespace": "gpu"}),
            "ComputeResources": Match.object_like(
                {
                    "InstanceTypes": ["g6", "g5", "g4dn"],
                    "Ec2Configuration": [{"ImageType": "EKS_AL2023_NVIDIA"}],
                }
            ),
        },
    )
    assert built.gpu.profile.gpu and built.gpu.profile.kind is ComputeKind.EKS
    assert built.spot.profile.kind is ComputeKind.EKS_SPOT


def test_nodes_get_the_eks_node_policies_not_the_ecs_one(built):
    roles = built.template.find_resources(
        "AWS::IAM::Role", {"Properties": {"Description": "Batch on EKS node role"}}
    )
    assert len(roles) == 3
    for role in roles.values():
        arns = [part[-1] for part in (p["Fn::Join"][1] for p in role["Properties"]["ManagedPolicyArns"])]
        assert arns == [
            ":iam::aws:policy/AmazonEKSWorkerNodePolicy",
            ":iam::aws:policy/AmazonEKS_CNI_Policy",
            ":iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
        ]


def test_access_entries_for_nodes_and_one_shared_for_batch_exist_before_the_environment(built):
    entries = built.template.find_resources("AWS::EKS::AccessEntry")
    nodes = [k for k, v in entries.items() if v["Properties"]["Type"] == "EC2_LINUX"]
    (batch_entry,) = [k for k, v in entries.items() if v["Properties"]["Type"] == "STANDARD"]
    assert len(nodes) == 2  # the API-mode cluster's two environments; the other cluster is not wired
    props = entries[batch_entry]["Properties"]
    assert props["Username"] == "aws-batch" and props["ClusterName"] == "batch"
    assert props["PrincipalArn"]["Fn::Join"][1][-1].endswith(
        ":role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
    )
    for env in (built.spot, built.on_demand):
        logical = built.stack.get_logical_id(env.resource.node.default_child)
        depends = built.template.to_json()["Resources"][logical]["DependsOn"]
        assert batch_entry in depends and any(n in depends for n in nodes)


def _setup_warnings(construct) -> list[str]:
    return [str(m.data) for m in construct.node.metadata if "batchkit:eks-cluster-setup" in str(m.data)]


def _warnings_with(construct, code: str) -> list[str]:
    return [str(m.data) for m in construct.node.metadata if code in str(m.data)]


def test_imported_cluster_without_kubectl_warns_with_the_exact_steps(built):
    (text,) = _setup_warnings(built.gpu)
    for step in (
        "namespace gpu",
        "aws-batch-cluster-role",
        "batch_manifests('gpu')",
        "AWSServiceRoleForBatch",
    ):
        assert step in text
    # BK-K5: the cluster names no security group, so what to allow is a warning of its own.
    (group,) = _warnings_with(built.gpu, "batchkit:eks-cluster-security-group")
    assert "cluster_security_group_id" in group and "Eks/Network/ComputeSecurityGroup" in group
    # The API-mode environments have their access wired: only the namespace/RBAC step is left.
    (spot,) = _setup_warnings(built.spot)
    assert "access entries" not in spot and "namespace aws-batch" in spot
    assert _warnings_with(built.spot, "batchkit:eks-cluster-security-group") == []


def test_batch_manifests_are_the_guides_rbac_objects():
    kinds = [(m["kind"], m["metadata"]["name"]) for m in batch_manifests("jobs")]
    assert kinds == [
        ("ClusterRole", "aws-batch-cluster-role"),
        ("ClusterRoleBinding", "aws-batch-cluster-role-binding"),
        ("Namespace", "jobs"),
        ("Role", "aws-batch-compute-environment-role"),
        ("RoleBinding", "aws-batch-compute-environment-role-binding"),
    ]
    assert all(m["subjects"][0]["name"] == "aws-batch" for m in batch_manifests() if "subjects" in m)


@pytest.fixture(scope="module")
def scratch():
    """A stack, network and cluster shared by the rejection tests (never synthesized)."""
    stack = new_stack("Scratch")
    net = network(stack)
    return stack, net, _cluster(stack, net)


@pytest.mark.parametrize("namespace", ["default", "kube-system", "Batch", "-x", "a" * 64])
def test_rejects_namespaces_batch_refuses(scratch, namespace):
    stack, net, cluster = scratch
    with pytest.raises(ValueError, match="namespace="):
        EksComputeEnvironment(
            stack, f"Env{len(namespace)}{namespace[:3]}", cluster=cluster, network=net, namespace=namespace
        )


def test_rejects_x86_instance_types_on_a_graviton_eks_environment(scratch):
    stack, net, cluster = scratch
    with pytest.raises(ValueError, match="instance_types=.*c6i is x86_64 but architecture is arm64"):
        EksComputeEnvironment(
            stack,
            "Graviton",
            cluster=cluster,
            network=net,
            architecture=Architecture.ARM64,
            instance_types=["c6i"],
        )


def test_rejects_a_network_outside_the_clusters_vpc(scratch):
    stack, net, _ = scratch
    elsewhere = eks.Cluster.from_cluster_attributes(
        stack, "Elsewhere", cluster_name="elsewhere", vpc=cdk.aws_ec2.Vpc(stack, "OtherVpc", max_azs=1)
    )
    with pytest.raises(ValueError, match="network=.*is not in the cluster's VPC"):
        EksComputeEnvironment(stack, "Outside", cluster=elsewhere, network=net)


def test_rejects_best_fit_on_eks(scratch):
    stack, net, cluster = scratch
    with pytest.raises(ValueError, match="allocation_strategy='BEST_FIT' .*BEST_FIT_PROGRESSIVE"):
        EksComputeEnvironment(
            stack,
            "BestFit",
            cluster=cluster,
            network=net,
            spot=True,
            allocation_strategy=batch.AllocationStrategy.BEST_FIT,
        )


# -- job definition ---------------------------------------------------------------------------------
def test_eks_job_renders_resources_security_context_and_the_pod_network(built):
    built.template.has_resource_properties(
        "AWS::Batch::JobDefinition",
        {
            "EksProperties": {
                "PodProperties": Match.object_like(
                    {
                        "HostNetwork": False,
                        "DnsPolicy": "ClusterFirst",
                        "ServiceAccountName": "batch-jobs",
                        "Containers": [
                            Match.object_like(
                                {
                                    "Name": "main",
                                    "Args": ["print('hi')"],
                                    "Env": [{"Name": "MODE", "Value": "test"}],
                                    "Resources": {
                                        "Requests": {"cpu": "0.5", "memory": "1024Mi"},
                                        "Limits": {"cpu": "2", "memory": "1024Mi"},
                                    },
                                    "SecurityContext": {
                                        "Privileged": False,
                                        "AllowPrivilegeEscalation": False,
                                        "ReadOnlyRootFilesystem": False,
                                        "RunAsNonRoot": True,
                                        "RunAsUser": 1000,
                                    },
                                    "VolumeMounts": [Match.object_like({"MountPath": "/scratch"})],
                                }
                            )
                        ],
                    }
                )
            },
            "RetryStrategy": Match.object_like({"Attempts": 3}),
            "Timeout": {"AttemptDurationSeconds": 86400},
            "ResourceRetentionPolicy": {"SkipDeregisterOnUpdate": True},
        },
    )
    built.template.has_resource_properties(
        "AWS::Batch::JobDefinition",
        {
            "EksProperties": {
                "PodProperties": Match.object_like(
                    {
                        "HostNetwork": True,
                        "DnsPolicy": "ClusterFirstWithHostNet",
                        "Containers": [
                            Match.object_like(
                                {
                                    "Resources": {
                                        "Requests": {"cpu": "1", "memory": "2048Mi", "nvidia.com/gpu": "1"},
                                        "Limits": {"memory": "2048Mi", "nvidia.com/gpu": "1"},
                                    }
                                }
                            )
                        ],
                    }
                )
            }
        },
    )
    assert built.job.submit_shape is SubmitShape.EKS and built.job.definition_ref().shape is SubmitShape.EKS
    assert built.job.requirements.platform is Platform.EKS and built.job.requirements.images == (
        SAMPLE_IMAGE,
    )


@pytest.mark.parametrize(
    ("container", "match"),
    [
        (EksContainer(image=IMAGE, vcpus=0.3), "container.vcpus=0.3 .*multiple of 0.25"),
        (EksContainer(image=IMAGE, vcpus=2, vcpus_limit=1), "container.vcpus_limit=1 .*at least"),
        (EksContainer(image=IMAGE, memory=cdk.Size.mebibytes(3)), "container.memory='3 MiB'"),
        (EksContainer(image=IMAGE, environment={"AWS_BATCH_X": "1"}), "container.environment='AWS_BATCH_X'"),
    ],
)
def test_rejects_eks_containers_batch_refuses(container, match):
    with pytest.raises(ValueError, match=match):
        EksJobDefinition(new_stack(), "Job", container=container)


def test_rejects_eks_retry_rules_that_never_fire():
    from cdk_batchkit.constructs import RetryPolicy

    with pytest.raises(ValueError, match="retry.attempts=1"):
        EksJobDefinition(
            new_stack(),
            "Job",
            container=EksContainer(image=IMAGE),
            retry=RetryPolicy(1, RetryPolicy.transient().rules),
        )


def test_privileged_is_opt_in_and_warned():
    stack = new_stack()
    job = EksJobDefinition(stack, "Job", container=EksContainer(image=IMAGE, privileged=True))
    assert [m for m in job.node.metadata if "batchkit:eks-privileged" in str(m.data)]
    quiet = EksJobDefinition(stack, "Quiet", container=EksContainer(image=IMAGE))
    assert not [m for m in quiet.node.metadata if "batchkit:eks-privileged" in str(m.data)]


# -- fit: ECS and EKS do not mix -------------------------------------------------------------------
def _eks_queue(stack: cdk.Stack, net) -> JobQueue:
    env = EksComputeEnvironment(stack, "EksEnv", cluster=_cluster(stack, net), network=net)
    return JobQueue(stack, "EksQueue", compute_environments=[env])


def test_rejects_an_ecs_job_on_an_eks_queue():
    stack = new_stack()
    queue = _eks_queue(stack, network(stack))
    job = ContainerJobDefinition(stack, "Ecs", container=Container(image=IMAGE))
    with pytest.raises(
        ValueError, match="an EC2 job cannot run on an EKS compute environment .ECS job definitions"
    ):
        queue.add_job_definition(job)


def test_rejects_an_eks_job_on_an_ecs_queue():
    stack = new_stack()
    net = network(stack)
    queue = JobQueue(stack, "Ecs", compute_environments=[Ec2ComputeEnvironment(stack, "Ec2", network=net)])
    job = EksJobDefinition(stack, "Eks", container=EksContainer(image=IMAGE))
    with pytest.raises(ValueError, match="an EKS job cannot run on an EC2 compute environment"):
        queue.add_job_definition(job)


def test_rejects_ecs_and_eks_environments_in_one_queue():
    stack = new_stack()
    net = network(stack)
    eks_env = EksComputeEnvironment(stack, "EksEnv", cluster=_cluster(stack, net), network=net)
    ec2_env = Ec2ComputeEnvironment(stack, "Ec2", network=net)
    with pytest.raises(ValueError, match="mixes ECS and EKS environments"):
        JobQueue(stack, "Mixed", compute_environments=[eks_env, ec2_env])


def test_l2_eks_environment_and_definition_are_fit_checked():
    stack = new_stack()
    net = network(stack)
    l2_env = batch.ManagedEc2EksComputeEnvironment(
        stack,
        "L2Env",
        eks_cluster=_cluster(stack, net),
        kubernetes_namespace="batch",
        vpc=net.vpc,
        instance_types=[cdk.aws_ec2.InstanceType("m6g.large")],
        use_optimal_instance_classes=False,
    )
    queue = JobQueue(stack, "Queue", compute_environments=[l2_env])
    assert queue.profile.environments[0][1].kind is ComputeKind.EKS
    l2_job = batch.EksJobDefinition(
        stack,
        "L2Job",
        container=batch.EksContainerDefinition(
            stack, "C", image=IMAGE, cpu_limit=1, memory_limit=cdk.Size.gibibytes(1)
        ),
    )
    queue.add_job_definition(l2_job)  # fits: EKS on EKS, 1 vCPU on an m6g.large
    too_big = EksJobDefinition(stack, "Big", container=EksContainer(image=IMAGE, vcpus=4))
    with pytest.raises(ValueError, match="no allowed instance type"):
        queue.add_job_definition(too_big)
    ecs_queue = JobQueue(
        stack, "Ecs", compute_environments=[Ec2ComputeEnvironment(stack, "Ec2", network=net)]
    )
    with pytest.raises(ValueError, match="an EKS job cannot run on an EC2"):
        ecs_queue.add_job_definition(l2_job)


# -- moto --------------------------------------------------------------------------------------------
def test_moto_accepts_the_eks_job_definition_and_environment(built, batchkit_aws):
    world = build_world(StackTemplate.from_template(built.template.to_json(), "Eks"))

    def logical(construct):
        return built.stack.get_logical_id(construct.resource.node.default_child)

    definition = world.job_definition(logical(built.job))
    (described,) = world.client("batch").describe_job_definitions(jobDefinitions=[definition.arn])[
        "jobDefinitions"
    ]
    container = described["eksProperties"]["podProperties"]["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "0.5", "memory": "1024Mi"}
    assert container["securityContext"]["runAsNonRoot"] is True
    assert described["eksProperties"]["podProperties"]["hostNetwork"] is False
    assert world.compute_environment(logical(built.spot)).arn.startswith("arn:aws:batch:")
    assert world.job_queue(logical(built.queue)).arn


def test_a_cluster_of_the_app_gets_aws_auth_mappings_and_the_manifests_once():
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_lambda as lambda_

    stack = new_stack()
    net = network(stack)
    layer = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Kubectl", "arn:aws:lambda:us-east-1:123456789012:layer:kubectl:1"
    )
    cluster = eks.Cluster(
        stack,
        "Cluster",
        version=eks.KubernetesVersion.V1_33,
        vpc=net.vpc,
        vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)],
        default_capacity=0,
        kubectl_layer=layer,
    )
    first = EksComputeEnvironment(stack, "First", cluster=cluster, network=net)
    EksComputeEnvironment(stack, "Second", cluster=cluster, network=net, namespace="other")
    children = [c.node.id for c in cluster.node.children]
    # The cluster-wide RBAC once, one manifest per namespace, Batch's role mapped once (CONFIG_MAP mode).
    assert children.count("manifest-BatchkitRbac") == 1
    assert {"manifest-BatchkitNamespace-aws-batch", "manifest-BatchkitNamespace-other"} <= set(children)
    assert children.count("BatchkitServiceLinkedRole") == 1
    assert [d.node.id for d in first.resource.node.dependencies] == [
        "AwsAuth",
        "manifest-BatchkitRbac",
        "manifest-BatchkitNamespace-aws-batch",
    ]
    # Nothing left to do by hand: no setup warning.
    assert _setup_warnings(first) == []


def test_moto_accepts_create_compute_environment_with_an_eks_configuration(batchkit_aws):
    # The kit builds every environment as an unmanaged stand-in; this is what moto's managed call takes.
    import boto3

    ec2_client, batch_client = boto3.client("ec2"), boto3.client("batch")
    iam_client = boto3.client("iam")
    role = iam_client.create_role(RoleName="svc", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    profile = iam_client.create_instance_profile(InstanceProfileName="nodes")["InstanceProfile"]["Arn"]
    vpc = ec2_client.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2_client.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2_client.create_security_group(GroupName="g", Description="d", VpcId=vpc)["GroupId"]
    batch_client.create_compute_environment(
        computeEnvironmentName="eks",
        type="MANAGED",
        serviceRole=role,
        eksConfiguration={
            "eksClusterArn": "arn:aws:eks:us-east-1:123456789012:cluster/batch",
            "kubernetesNamespace": "aws-batch",
        },
        computeResources={
            "type": "SPOT",
            "allocationStrategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
            "minvCpus": 0,
            "maxvCpus": 8,
            "instanceTypes": ["c6i"],
            "subnets": [subnet],
            "securityGroupIds": [group],
            "instanceRole": profile,
            "ec2Configuration": [{"imageType": "EKS_AL2023", "imageKubernetesVersion": "1.33"}],
        },
    )
    (described,) = batch_client.describe_compute_environments(computeEnvironments=["eks"])[
        "computeEnvironments"
    ]
    assert described["computeResources"]["type"] == "SPOT"
    # moto 5.2.5 accepts eksConfiguration but does not keep it (DescribeComputeEnvironments omits it).
    assert "eksConfiguration" not in described


# -- the EKS rules on model values (no stack) ---------------------------------------------------------
def _pod(*containers: EksContainerSpec, **kwargs) -> EksPodSpec:
    return EksPodSpec(containers=containers or (EksContainerSpec(ContainerSpec(name="main")),), **kwargs)


def _eks(**kwargs) -> EksContainerSpec:
    extra = {k: kwargs.pop(k) for k in ("vcpus_limit", "volumes", "run_as_user") if k in kwargs}
    return EksContainerSpec(ContainerSpec(**{"name": "main", **kwargs}), **extra)


def _ids(problems) -> list[tuple[str, str, bool]]:
    return [(p.rule, p.prop, p.warning) for p in problems]


@pytest.mark.parametrize("namespace", ["default", "kube-system", "Batch", "-x", "a" * 64, ""])
def test_rejects_namespaces_batch_refuses_in_the_model(namespace):
    assert _ids(eks_namespace(EksEnvironmentSpec(namespace=namespace))) == [("BK-K1", "namespace", False)]


def test_accepts_namespaces_batch_takes_and_skips_tokens():
    for namespace in ("aws-batch", "a", "team-1", "${Token[TOKEN.1]}", None):
        assert eks_namespace(EksEnvironmentSpec(namespace=namespace)) == []


@pytest.mark.parametrize(
    ("spec", "prop"),
    [
        (_eks(vcpus=0.3), "vcpus"),
        (_eks(vcpus=0), "vcpus"),
        (_eks(vcpus=1, vcpus_limit=1.1), "vcpus_limit"),
        (_eks(vcpus=2, vcpus_limit=1), "vcpus_limit"),
        (_eks(memory_mib=1.46484375), "memory"),
        (_eks(memory_mib=3), "memory"),
        (_eks(gpus=-1), "gpus"),
    ],
)
def test_rejects_eks_resources_batch_refuses_in_the_model(spec, prop):
    assert _ids(eks_resources(spec)) == [("BK-K2", prop, False)]


def test_eks_memory_that_is_not_whole_mib_is_named_with_its_value():
    (problem,) = eks_resources(_eks(memory_mib=1.46484375))
    assert problem.value == "1.46484 MiB" and "whole number of MiB" in problem.why
    # Unknown sizes (tokens) are skipped.
    assert eks_resources(_eks(vcpus=None, memory_mib=None, gpus=None)) == []


def test_render_pod_decides_the_pod_network_security_context_and_resources():
    pod = _pod(_eks(vcpus=0.5, memory_mib=1024, gpus=1, vcpus_limit=2, run_as_user=1000))
    rendered = render_pod(pod)
    assert rendered["HostNetwork"] is False and rendered["DnsPolicy"] == "ClusterFirst"
    assert rendered["Containers.0.Resources"] == {
        "Requests": {"cpu": "0.5", "memory": "1024Mi", "nvidia.com/gpu": "1"},
        "Limits": {"cpu": "2", "memory": "1024Mi", "nvidia.com/gpu": "1"},
    }
    assert rendered["Containers.0.SecurityContext"] == {
        "Privileged": False,
        "AllowPrivilegeEscalation": False,
        "ReadOnlyRootFilesystem": False,
        "RunAsNonRoot": True,
        "RunAsUser": 1000,
    }
    host = render_pod(_pod(host_network=True))
    assert host["HostNetwork"] is True and host["DnsPolicy"] == "ClusterFirstWithHostNet"
    assert "DnsPolicy" not in render_pod(_pod(dns_policy="DEFAULT"))
    assert render_pod.rule_id == "BK-K3"


def test_cluster_setup_chooses_access_entries_aws_auth_or_names_the_steps():
    api = eks_cluster_setup(EksClusterAccess(authentication_mode="API", runs_kubectl=True))
    assert (api.access, api.apply_manifests, api.missing) == ("ACCESS_ENTRIES", True, ())
    config_map = eks_cluster_setup(EksClusterAccess(cluster_in_app=True, runs_kubectl=True))
    assert config_map.access == "AWS_AUTH" and config_map.missing == ()
    imported = eks_cluster_setup(EksClusterAccess(namespace="gpu", node_role="Stack/Env/InstanceRole"))
    assert imported.access is None and not imported.apply_manifests
    assert "namespace gpu" in imported.missing[0] and "Stack/Env/InstanceRole" in imported.missing[1]
    opted_out = eks_cluster_setup(EksClusterAccess(wire_access=False, authentication_mode="API"))
    assert opted_out.access is None and "AWSServiceRoleForBatch" in opted_out.missing[-1]
    assert eks_cluster_setup.rule_id == "BK-K4"


def test_rejects_a_network_outside_the_clusters_vpc_in_the_model():
    env = EksEnvironmentSpec(vpc="vpc-1", cluster_vpc="vpc-2")
    (problem,) = eks_network(env, network="S/Network", cluster_vpc="S/ClusterVpc")
    assert (problem.rule, problem.prop, problem.value) == ("BK-K5", "network", "S/Network")
    assert "S/ClusterVpc" in problem.why
    assert eks_network(EksEnvironmentSpec(vpc="vpc-1", cluster_vpc="vpc-1")) == []
    assert eks_network(EksEnvironmentSpec(vpc=None, cluster_vpc="vpc-1")) == []


def test_warns_when_the_cluster_security_group_is_unknown():
    (problem,) = eks_network(EksEnvironmentSpec(cluster_security_group_known=False), security_group="S/Sg")
    assert problem.warning and problem.rule == "BK-K5" and "S/Sg" in problem.why
    assert problem.warning_id == "batchkit:eks-cluster-security-group"


def test_rejects_best_fit_in_the_model():
    assert _ids(eks_allocation_strategy(EksEnvironmentSpec(allocation_strategy="BEST_FIT"))) == [
        ("BK-K6", "allocation_strategy", False)
    ]
    assert eks_allocation_strategy(EksEnvironmentSpec(allocation_strategy="BEST_FIT_PROGRESSIVE")) == []


@pytest.mark.parametrize("version", ["v1.33", "1.33.2", "1", "latest", "1.33 "])
def test_rejects_kubernetes_versions_not_written_as_batch_lists_them(version):
    assert _ids(eks_kubernetes_version(EksEnvironmentSpec(kubernetes_version=version))) == [
        ("BK-K7", "kubernetes_version", False)
    ]


@pytest.mark.parametrize("version", ["1.20", "1.28", "1.99", "2.0"])
def test_warns_on_kubernetes_versions_outside_the_documented_list(version):
    (problem,) = eks_kubernetes_version(EksEnvironmentSpec(kubernetes_version=version))
    assert problem.warning and problem.rule == "BK-K7" and "supported_kubernetes_version" in problem.why


def test_accepts_documented_kubernetes_versions_and_tokens():
    for version in (*SUPPORTED_KUBERNETES_VERSIONS, None, "${Token[TOKEN.9]}"):
        assert eks_kubernetes_version(EksEnvironmentSpec(kubernetes_version=version)) == []


@pytest.mark.parametrize(
    ("pod", "prop"),
    [
        (_pod(_eks(name="Main")), "containers[0].name"),
        (_pod(_eks(name="main_1")), "containers[0].name"),
        (_pod(_eks(name="-main")), "containers[0].name"),
        (_pod(_eks(name="a" * 64)), "containers[0].name"),
        (_pod(_eks(name="main"), _eks(name="main")), "containers[1].name"),
        (_pod(service_account="batch_jobs"), "service_account"),
        (_pod(service_account="Jobs"), "service_account"),
        (_pod(service_account="jobs."), "service_account"),
        (_pod(service_account="a" * 254), "service_account"),
    ],
)
def test_rejects_kubernetes_names_that_are_not_dns_1123(pod, prop):
    assert _ids(eks_kubernetes_names(pod)) == [("BK-K8", prop, False)]


def test_accepts_dns_1123_names():
    pod = _pod(_eks(name="main"), _eks(name="side-car-2"), service_account="team.batch-jobs")
    assert eks_kubernetes_names(pod) == []
    assert eks_kubernetes_names(_pod(_eks(name="a" * 63), service_account="a" * 253)) == []


def test_rejects_ecs_volumes_in_an_eks_container():
    spec = _eks(
        volumes=(
            EksVolumeSpec("scratch", "emptyDir"),
            EksVolumeSpec("lustre-fsx", "FSx for Lustre volume"),
            EksVolumeSpec("efs", "EFS volume"),
        )
    )
    lustre, efs = eks_volumes(spec)
    assert (lustre.rule, lustre.prop, lustre.value) == ("BK-K9", "volumes", "lustre-fsx")
    assert "ECS containers on EC2" in lustre.why and efs.value == "efs" and "Lustre" not in efs.why


def test_warns_on_a_privileged_eks_container():
    (problem,) = eks_privileged(_eks(privileged=True))
    assert problem.warning and problem.warning_id == "batchkit:eks-privileged"
    assert eks_privileged(_eks()) == []


def test_rejects_gpu_on_a_graviton_eks_environment_in_the_model():
    env = EksEnvironmentSpec(gpu=True, architecture=Architecture.ARM64)
    assert _ids(eks_gpu_architecture(env)) == [("BK-K11", "gpu", False)]
    assert eks_gpu_architecture(EksEnvironmentSpec(gpu=True)) == []


def test_rejects_aws_batch_environment_names_in_eks_containers_through_the_shared_rule():
    (problem,) = check_pod(_pod(_eks(environment=("MODE", "AWS_BATCH_JOB_ID"))))
    assert (problem.rule, problem.prop, problem.value) == (
        "BK-T12",
        "containers[0].env",
        "AWS_BATCH_JOB_ID",
    )


# -- the same rules through the constructs (one test per prop, for the message) -----------------------
@pytest.mark.parametrize(
    ("container", "kwargs", "match"),
    [
        (
            EksContainer(image=IMAGE, memory=cdk.Size.kibibytes(1500)),
            {},
            r"container.memory='1.46484 MiB' is invalid: must be a whole number of MiB",
        ),
        (EksContainer(image=IMAGE, name="Main"), {}, r"container.name='Main' is invalid: .*DNS-1123 label"),
        (
            EksContainer(image=IMAGE),
            {"service_account": "batch_jobs"},
            r"service_account='batch_jobs' is inv",
        ),
    ],
)
def test_rejects_eks_job_definition_props_naming_the_prop(container, kwargs, match):
    with pytest.raises(ValueError, match=match):
        EksJobDefinition(new_stack(), "Job", container=container, **kwargs)


def test_rejects_a_lustre_volume_in_an_eks_container_with_a_clear_error():
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_fsx as fsx

    from cdk_batchkit.constructs import LustreMount, LustreVolume

    stack = new_stack()
    fs = fsx.LustreFileSystem.from_lustre_file_system_attributes(
        stack,
        "Fs",
        dns_name="fs-0123456789abcdef0.fsx.eu-west-1.amazonaws.com",
        file_system_id="fs-0123456789abcdef0",
        security_group=ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-0123456789abcdef0"),
    )
    volume = LustreVolume(LustreMount(fs, mount_name="abcdefgh"))
    with pytest.raises(
        ValueError, match=r"container.volumes='lustre-fsx' is invalid: is an FSx for Lustre vol"
    ):
        EksJobDefinition(stack, "Job", container=EksContainer(image=IMAGE, volumes=[volume]))


def test_rejects_and_warns_on_kubernetes_versions_through_the_environment(scratch):
    stack, net, cluster = scratch
    with pytest.raises(ValueError, match=r"kubernetes_version='v1.33' is invalid: must be MAJOR.MINOR"):
        EksComputeEnvironment(stack, "V", cluster=cluster, network=net, kubernetes_version="v1.33")
    old = EksComputeEnvironment(stack, "Old", cluster=cluster, network=net, kubernetes_version="1.24")
    (warning,) = _warnings_with(old, "batchkit:BK-K7")
    assert "kubernetes_version: 1.24 is not among" in warning


def test_rejects_gpu_on_a_graviton_eks_environment(scratch):
    stack, net, cluster = scratch
    with pytest.raises(ValueError, match=r"gpu=True is invalid: GPU nodes use the EKS_AL2023_NVIDIA image"):
        EksComputeEnvironment(
            stack, "ArmGpu", cluster=cluster, network=net, gpu=True, architecture=Architecture.ARM64
        )


# -- pods the library did not build (the L2's, imported ones, requests) -----------------------------------
def test_a_pod_from_cloudformation_is_checked_by_the_same_rules():
    pod = EksPodSpec.from_api(
        {
            "Type": "container",
            "EksProperties": {
                "PodProperties": {
                    "ServiceAccountName": "batch_jobs",
                    "Volumes": [{"Name": "fsx", "HostPath": {"Path": "/fsx"}}],
                    "Containers": [
                        {
                            "Name": "Main",
                            "Image": SAMPLE_IMAGE,
                            "Resources": {"Requests": {"cpu": "0.3", "memory": "1024Mi"}},
                            "Env": [{"Name": "AWS_BATCH_X", "Value": "1"}],
                            "VolumeMounts": [{"Name": "fsx", "MountPath": "/fsx"}, {"Name": "gone"}],
                        }
                    ],
                }
            },
        },
        label="arn:aws:batch:us-east-1:123456789012:job-definition/x:1",
    )
    assert pod is not None and pod.host_network is True  # Batch's default when hostNetwork is not given
    found = [(p.rule, p.prop) for p in check_pod(pod)]
    assert found == [
        ("BK-K2", "containers[0].vcpus"),
        ("BK-T12", "containers[0].env"),
        ("BK-K9", "containers[0].volumes"),
        ("BK-K8", "containers[0].name"),
        ("BK-K8", "service_account"),
    ]
    (undefined,) = [p for p in check_pod(pod) if p.rule == "BK-K9"]
    assert undefined.value == "gone" and "an undefined volume" in undefined.why
    assert EksPodSpec.from_api({"containerProperties": {"image": "x"}}) is None


def test_the_rendered_pod_reads_back_as_the_pod_the_construct_checked(built):
    props = built.template.to_json()["Resources"][
        built.stack.get_logical_id(built.job.resource.node.default_child)
    ]["Properties"]
    parsed = EksPodSpec.from_api(props)
    assert parsed is not None and parsed.dns_policy == "ClusterFirst"  # rendered by BK-K3, now given
    assert render_pod(parsed) == {k: v for k, v in render_pod(built.job.pod).items() if k != "DnsPolicy"}
    (spec,) = parsed.containers
    assert (spec.container.vcpus, spec.container.memory_mib, spec.vcpus_limit) == (0.5, 1024, 2)
    assert spec.container.environment == ("MODE",) and spec.volumes == (EksVolumeSpec("scratch", "emptyDir"),)
    assert parsed.service_account == "batch-jobs" and check_pod(parsed) == []


def test_an_l2_eks_definition_is_checked_by_the_pod_rules_where_it_is_bound() -> None:
    """The L2's EksJobDefinition goes through the same pod rules as ours (BK-K2, BK-K8, BK-T12), reported
    on whatever binds, grants or submits it, with the prop naming the L2 definition."""
    from cdk_batchkit.constructs._binding import bind, definition_ref, queue_ref
    from cdk_batchkit.constructs._describe import describe_definition

    stack = new_stack()
    container = batch.EksContainerDefinition(
        stack,
        "Container",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023"),
        cpu_limit=0.3,
        memory_limit=cdk.Size.mebibytes(3),
        env={"AWS_BATCH_X": "1"},
        name="Bad_Name",
    )
    l2 = batch.EksJobDefinition(stack, "L2", container=container)
    _, problems = describe_definition(l2)
    assert {(p.rule, p.prop) for p in problems} >= {
        ("BK-K2", "job_definition(Test/L2).containers[0].vcpus"),
        ("BK-K2", "job_definition(Test/L2).containers[0].memory"),
        ("BK-T12", "job_definition(Test/L2).containers[0].env"),
        ("BK-K8", "job_definition(Test/L2).containers[0].name"),
    }
    queue = batch.JobQueue.from_job_queue_arn(
        stack, "Queue", "arn:aws:batch:us-east-1:123456789012:job-queue/eks"
    )
    with pytest.raises(ValueError, match=r"Test: job_definition\(Test/L2\)\.containers\[0\]\.vcpus=0\.3"):
        bind(stack, definition_ref(l2), queue_ref(queue))
