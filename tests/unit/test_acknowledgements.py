"""The cdk-nag acknowledgements users wrote by hand, against what cdk-nag 3 reports on synthesized apps:
a rule-wide acknowledgement (cdk-nag matches granular findings exactly) and CDK's own ``aws_eks.Cluster``."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

from cdk_batchkit.constructs import (
    BatchNetwork,
    NetworkMode,
    acknowledge,
    acknowledge_eks_cluster,
    acknowledge_resource,
    acknowledge_rule,
)
from cdk_batchkit.constructs.acknowledgements import iam_findings


def _open_findings(build, outdir: Path) -> dict[str, set[tuple[str, str]]]:
    """Synthesize ``build(app)`` under cdk-nag (suppressions written to the templates); the findings left
    open, by stack: (rule with its finding, construct path below the stack)."""
    app = cdk.App(outdir=str(outdir))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    build(app)
    try:
        app.synth()
    except RuntimeError as error:
        assert "Validation failed" in str(error) or "ValidationFailed" in str(error), error
    report = outdir / "validation-report.json"
    found: dict[str, set[tuple[str, str]]] = {}
    if not report.exists():
        return found
    for plugin in json.loads(report.read_text())["pluginReports"]:
        for violation in plugin["violations"]:
            for construct in violation["violatingConstructs"]:
                stack, _, path = construct["constructPath"].partition("/")
                found.setdefault(stack, set()).add((violation["ruleName"], path))
    return found


# -- a rule-wide acknowledgement ---------------------------------------------------------------------------
def _wildcard_role(stack: cdk.Stack) -> iam.Role:
    role = iam.Role(
        stack,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")],
    )
    role.add_to_policy(iam.PolicyStatement(actions=["s3:Get*"], resources=["*"]))
    role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=["arn:aws:sqs:*:*:q-*"]))
    return role


@pytest.fixture(scope="module")
def rule_wide(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[tuple[str, str]]]:
    def build(app: cdk.App) -> None:
        whole = cdk.Stack(app, "Whole")
        role = _wildcard_role(whole)
        acknowledge_rule(role, "IAM5", "A test role: every wildcard is on purpose.")
        acknowledge_rule(whole, "IAM4", "A test role: the AWS managed policy is on purpose.")
        by_id = cdk.Stack(app, "ById")
        # What the acknowledge() docstring used to suggest: the rule id alone.
        role = _wildcard_role(by_id)
        acknowledge(role, "IAM5", "A test role.")
        acknowledge(role, "IAM4", "A test role.")

    return _open_findings(build, tmp_path_factory.mktemp("rule-wide"))


def test_a_rule_wide_acknowledgement_covers_every_granular_finding(rule_wide):
    assert "Whole" not in rule_wide


def test_the_rule_id_alone_acknowledges_no_granular_finding(rule_wide):
    rules = sorted(rule for rule, _ in rule_wide["ById"])
    assert rules == [
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess]",
        "AwsSolutions-IAM5[Action::s3:Get*]",
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM5[Resource::arn:aws:sqs:*:*:q-*]",
    ]


def test_findings_are_computed_as_cdk_nag_spells_them():
    stack = cdk.Stack(cdk.App(), "Findings")
    role = _wildcard_role(stack)
    cfn = role.node.default_child
    assert iam_findings(cfn, "IAM4") == [("Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess", ())]
    policy = role.node.find_child("DefaultPolicy").node.default_child
    assert [f for f, _ in iam_findings(policy, "IAM5")] == [
        "Action::s3:Get*",
        "Resource::*",
        "Resource::arn:aws:sqs:*:*:q-*",
    ]


# -- resource acknowledgements made at validation, one acknowledge call per scope -------------------------
@pytest.fixture(scope="module")
def per_resource(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, set[tuple[str, str]]], dict]:
    """A role granted on three object prefixes, one of another stack's bucket (an ``Fn::ImportValue`` in
    the template), each acknowledged with ``acknowledge_resource``: the stack's acknowledgements are made
    together, in one call per scope, when the app is validated."""
    outdir = tmp_path_factory.mktemp("per-resource")

    def build(app: cdk.App) -> None:
        data = cdk.Stack(app, "Data")
        bucket = s3.Bucket(data, "Bucket", enforce_ssl=True)
        acknowledge(bucket, "S1", "A test bucket.")
        stack = cdk.Stack(app, "Jobs")
        role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        local = s3.Bucket(stack, "Local", enforce_ssl=True)
        acknowledge(local, "S1", "A test bucket.")
        arns = [bucket.arn_for_objects("in/*"), *(local.arn_for_objects(p) for p in ("out/*", "tmp/*"))]
        for arn in arns:
            role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[arn]))
            acknowledge_resource(role, "IAM5", f"Objects under one prefix ({arn}).", arn)

    open_findings = _open_findings(build, outdir)
    template = json.loads((outdir / "Jobs.template.json").read_text())
    return open_findings, template


def test_every_resource_acknowledgement_of_a_scope_is_made(per_resource):
    open_findings, _ = per_resource
    assert "Jobs" not in open_findings


def test_every_resource_acknowledgement_of_a_scope_is_written(per_resource):
    _, template = per_resource
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    (local,) = [name for name, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"]
    ids = [rule["id"] for rule in policy["Metadata"]["cdk_nag"]["rules_to_suppress"]]
    imported, *own = [i for i in ids if i.startswith("AwsSolutions::AwsSolutions-IAM5[Resource::")]
    # The other stack's bucket as the template holds it (an import), then this stack's, in order.
    assert imported.startswith("AwsSolutions::AwsSolutions-IAM5[Resource::Data:ExportsOutput")
    assert imported.endswith("/in/*]")
    assert own == [
        f"AwsSolutions::AwsSolutions-IAM5[Resource::<{local}.Arn>/out/*]",
        f"AwsSolutions::AwsSolutions-IAM5[Resource::<{local}.Arn>/tmp/*]",
    ]


def test_acknowledgements_need_a_reason():
    stack = cdk.Stack(cdk.App(), "Reasons")
    with pytest.raises(ValueError, match="needs a reason"):
        acknowledge_rule(stack, "IAM5", " ")


# -- CDK's own aws_eks.Cluster -------------------------------------------------------------------------------
def _cluster(app: cdk.App, name: str, *, private: bool) -> eks.Cluster:
    """A cluster with what users add: a Fargate profile and a managed nodegroup; ``private``: a private
    endpoint with the handlers in the VPC (their roles then get the VPC access policy too)."""
    stack = cdk.Stack(app, name)
    mode = NetworkMode.PRIVATE_WITH_NAT if private else NetworkMode.PUBLIC
    net = BatchNetwork(stack, "Network", mode=mode)
    subnets = ec2.SubnetSelection(
        subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS if private else ec2.SubnetType.PUBLIC
    )
    layer = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Kubectl", "arn:aws:lambda:us-east-1:123456789012:layer:kubectl:1"
    )
    cluster = eks.Cluster(
        stack,
        "Cluster",
        version=eks.KubernetesVersion.V1_33,
        vpc=net.vpc,
        vpc_subnets=[subnets],
        default_capacity=0,
        kubectl_layer=layer,
        endpoint_access=eks.EndpointAccess.PRIVATE if private else eks.EndpointAccess.PUBLIC_AND_PRIVATE,
        place_cluster_handler_in_vpc=private,
    )
    cluster.add_fargate_profile("Profile", selectors=[eks.Selector(namespace="batch")])
    cluster.add_nodegroup_capacity("Workers", min_size=1, subnets=subnets)
    return cluster


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("eks")

    def build(app: cdk.App) -> None:
        acknowledge_eks_cluster(
            _cluster(app, "Acked", private=True),
            public_endpoint="not reported: the endpoint is private",
            control_plane_logs="A test cluster: no control-plane logs.",
        )
        _cluster(app, "Bare", private=True)
        acknowledge_eks_cluster(_cluster(app, "Public", private=False))

    return _open_findings(build, out), out


def test_every_finding_on_what_aws_cdk_lib_creates_for_a_cluster_is_acknowledged(clusters):
    found, _ = clusters
    assert "Acked" not in found
    # The same cluster without the helper: what it acknowledged (each kind of finding, from each part).
    bare = {(rule.split("[")[0], path.split("/")[0]) for rule, path in found["Bare"]}
    assert bare == {
        ("AwsSolutions-IAM4", "Cluster"),  # cluster, kubectl handler, node and Pod execution roles
        ("AwsSolutions-IAM5", "Cluster"),  # the creation role
        ("AwsSolutions-EKS2", "Cluster"),
        ("AwsSolutions-IAM4", "@aws-cdk--aws-eks.ClusterResourceProvider"),
        ("AwsSolutions-IAM5", "@aws-cdk--aws-eks.ClusterResourceProvider"),
        ("AwsSolutions-SF1", "@aws-cdk--aws-eks.ClusterResourceProvider"),
        ("AwsSolutions-SF2", "@aws-cdk--aws-eks.ClusterResourceProvider"),
        ("AwsSolutions-IAM4", "@aws-cdk--aws-eks.KubectlProvider"),
        ("AwsSolutions-IAM5", "@aws-cdk--aws-eks.KubectlProvider"),
        ("AwsSolutions-L1", "@aws-cdk--aws-eks.KubectlProvider"),
    }
    policies = {rule.split("policy/")[-1].rstrip("]") for rule, _ in found["Bare"] if "IAM4" in rule}
    assert {
        "AmazonEKSClusterPolicy",
        "service-role/AWSLambdaBasicExecutionRole",
        "service-role/AWSLambdaVPCAccessExecutionRole",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKSFargatePodExecutionRolePolicy",
    } <= policies


def test_what_the_clusters_props_decide_stays_reported_without_a_reason(clusters):
    found, _ = clusters
    assert {rule for rule, _ in found["Public"]} == {
        "AwsSolutions-EKS1",
        *(f"AwsSolutions-EKS2[LogExport::{t}]" for t in ("api", "audit", "authenticator")),
        *(f"AwsSolutions-EKS2[LogExport::{t}]" for t in ("controllerManager", "scheduler")),
    }


def test_the_acknowledgements_are_written_into_the_template(clusters):
    _, out = clusters
    template = json.loads((out / "Acked.template.json").read_text())
    (role,) = [
        r for k, r in template["Resources"].items() if k.startswith("ClusterRole") and "Policy" not in k
    ]
    written = role["Metadata"]["cdk_nag"]["rules_to_suppress"]
    (suppressed,) = [r for r in written if r["id"].startswith("AwsSolutions::AwsSolutions-IAM4")]
    assert suppressed["id"].endswith("policy/AmazonEKSClusterPolicy]")
    assert "cluster-iam-role.html" in suppressed["reason"]
