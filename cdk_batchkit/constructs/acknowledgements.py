"""cdk-nag acknowledgements users otherwise write by hand: every finding of a rule under a scope
(:func:`acknowledge_rule`), and what CDK's own ``aws_eks.Cluster`` needs (:func:`acknowledge_eks_cluster`).

cdk-nag 3 reports some rules once per finding (``AwsSolutions-IAM5[Resource::<Bucket.Arn>/in/*]``) and
matches an acknowledgement to the finding exactly: ``acknowledge(scope, "IAM5", reason)`` without
``applies_to`` acknowledges the rule id alone, which no granular finding carries. These helpers compute the
findings the way cdk-nag 3.0 does (its ``IAMNoManagedPolicies``, ``IAMNoWildcardPermissions`` and
``flattenCfnReference``), when the app is validated: after references between stacks are final, so a
finding that names another stack's resource (``Fn::ImportValue``) is matched as the template holds it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import jsii
from aws_cdk import CfnResource, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct, IValidation

from .nag import _flatten, _writes_suppressions, acknowledge, acknowledge_findings

__all__ = ["GRANULAR_LOG_EXPORTS", "acknowledge_eks_cluster", "acknowledge_rule", "iam_findings"]

#: AwsSolutions rules reported once per missing log export, and every export each can name (cdk-nag 3.0:
#: EKSClusterControlPlaneLogs, AuroraMySQLLogging, DocumentDBClusterLogExports,
#: OpenSearchSlowLogsToCloudWatch).
GRANULAR_LOG_EXPORTS: Mapping[str, tuple[str, ...]] = {
    "EKS2": ("api", "audit", "authenticator", "controllerManager", "scheduler"),
    "RDS16": ("audit", "error", "general", "slowquery"),
    "DOC5": ("authenticate", "createIndex", "dropCollection"),
    "OS9": ("SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS"),
}
_IAM_RULES = ("IAM4", "IAM5")
_ENTITIES = (iam.CfnRole, iam.CfnUser, iam.CfnGroup)
_DOCUMENTS = (iam.CfnPolicy, iam.CfnManagedPolicy)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(resource: CfnResource) -> Iterator[Mapping[str, Any]]:
    """The statements of ``resource``'s policies as the template holds them (inline policies of a role,
    user or group; the document of a policy)."""
    stack = Stack.of(resource)
    documents: list[Any] = []
    if isinstance(resource, _ENTITIES):
        for policy in stack.resolve(resource.policies) or []:
            if isinstance(policy, Mapping):
                documents.append(stack.resolve(policy.get("policyDocument", policy.get("PolicyDocument"))))
    elif isinstance(resource, _DOCUMENTS):
        documents.append(stack.resolve(resource.policy_document))
    for document in documents:
        for statement in (document or {}).get("Statement", []) if isinstance(document, Mapping) else []:
            if isinstance(statement, Mapping) and statement.get("Effect") == "Allow":
                yield statement


def iam_findings(resource: CfnResource, rule: str) -> list[tuple[str, tuple[str, ...]]]:
    """The granular findings cdk-nag 3 reports for ``rule`` (``"IAM4"``: AWS managed policies,
    ``"IAM5"``: wildcards) on ``resource``, each with the actions of the statement it comes from (empty
    for IAM4), in cdk-nag's order and spelling (``Policy::arn:<AWS::Partition>:iam::aws:policy/...``,
    ``Action::s3:*``, ``Resource::<Bucket.Arn>/*``)."""
    found: dict[str, tuple[str, ...]] = {}
    stack = Stack.of(resource)
    if rule == "IAM4" and isinstance(resource, _ENTITIES):
        for arn in stack.resolve(resource.managed_policy_arns) or []:
            flat = _flatten(stack.resolve(arn))
            if ":iam::aws:" in flat:
                found.setdefault(f"Policy::{flat}", ())
    elif rule == "IAM5":
        for statement in _statements(resource):
            actions = tuple(str(a) for a in _list(statement.get("Action", [])))
            for action in actions:
                if "*" in action:
                    found.setdefault(f"Action::{action}", actions)
            for resource_arn in _list(statement.get("Resource", [])):
                flat = _flatten(resource_arn)
                if "*" in flat:
                    found.setdefault(f"Resource::{flat}", actions)
    return list(found.items())


def _acknowledge_finding(resource: CfnResource, rule: str, reason: str, finding: str | None) -> None:
    """Acknowledge one finding on ``resource``, and write it into the template metadata when cdk-nag's
    ``write_suppressions_to_cloud_formation`` aspect is on (it ran before this validation)."""
    acknowledge(resource, rule, reason, applies_to=finding)
    if not _writes_suppressions(Stack.of(resource)):
        return
    rule_id = f"AwsSolutions::AwsSolutions-{rule}" + (f"[{finding}]" if finding else "")
    written = resource.get_metadata("cdk_nag") or {}
    rules = list(written.get("rules_to_suppress", []))
    if not any(r.get("id") == rule_id for r in rules):
        rules.append({"id": rule_id, "reason": reason})
    resource.add_metadata("cdk_nag", {**written, "rules_to_suppress": rules})


@jsii.implements(IValidation)
class _Deferred:
    """Runs ``action`` once, when the app is validated (the tree and its references are final)."""

    def __init__(self, action: Callable[[], None]) -> None:
        self._action, self._done = action, False

    def validate(self) -> list[str]:
        if not self._done:
            self._done = True
            self._action()
        return []


def _check_reason(scope: IConstruct, rule: str, reason: str) -> None:
    if not reason.strip():
        raise ValueError(f"{scope.node.path}: an acknowledgement of {rule} needs a reason")


def acknowledge_rule(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge every finding of AwsSolutions ``rule`` on ``scope`` and everything under it, with one
    reason: a rule-wide acknowledgement, for a whole construct you cannot change (a third-party construct, a
    stack of CDK's own helpers). Prefer :func:`acknowledge` with ``applies_to`` (one finding, one reason):
    this one also acknowledges findings added later under ``scope``.

    IAM4 and IAM5 findings are computed when the app is validated, as cdk-nag 3.0 computes them, and each
    is acknowledged exactly (cdk-nag 3 matches ``AwsSolutions-IAM5[Resource::...]`` findings exactly, so
    ``acknowledge(scope, "IAM5", reason)`` alone acknowledges none of them); the log-export rules (EKS2,
    RDS16, DOC5, OS9) are acknowledged for every export they can name; any other rule is reported once per
    resource and acknowledged by its id.

    :param scope: the construct whose findings (its own and its children's) are acknowledged.
    :param rule: the AwsSolutions rule without the pack prefix (``"IAM5"``, ``"L1"``).
    :param reason: why the findings are acceptable (an auditor reads it; required).
    """
    _check_reason(scope, rule, reason)
    if rule in GRANULAR_LOG_EXPORTS:
        acknowledge_findings(scope, rule, {f"LogExport::{e}": reason for e in GRANULAR_LOG_EXPORTS[rule]})
        return
    if rule not in _IAM_RULES:
        acknowledge(scope, rule, reason)
        return

    def every_finding() -> None:
        for resource in scope.node.find_all():
            if isinstance(resource, CfnResource):
                for finding, _ in iam_findings(resource, rule):
                    _acknowledge_finding(resource, rule, reason, finding)

    scope.node.add_validation(_Deferred(every_finding))


# -- CDK's own aws_eks.Cluster ------------------------------------------------------------------------------
_EKS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide"
#: AWS managed policies aws-cdk-lib attaches to the roles it creates for an ``eks.Cluster``, with why.
_CLUSTER_POLICY = {
    "AmazonEKSClusterPolicy": (
        "The Amazon EKS cluster IAM role takes AmazonEKSClusterPolicy or an equivalent custom policy "
        f"({_EKS_GUIDE}/cluster-iam-role.html); aws-cdk-lib's eks.Cluster attaches AmazonEKSClusterPolicy to "
        "the role it creates (pass role= to use yours)."
    ),
}
_HANDLER_POLICIES = {
    "AWSLambdaBasicExecutionRole": (
        "A handler aws-cdk-lib creates for the EKS cluster (cluster resource, kubectl, their provider "
        "framework) writes its logs through the AWS managed AWSLambdaBasicExecutionRole, which aws-cdk-lib "
        "attaches to the role it creates for it."
    ),
    "AWSLambdaVPCAccessExecutionRole": (
        "A handler aws-cdk-lib places in the cluster's VPC (private endpoint, place_cluster_handler_in_vpc, "
        "kubectl_private_subnets) needs the AWS managed AWSLambdaVPCAccessExecutionRole for its network "
        "interfaces; aws-cdk-lib attaches it."
    ),
}
_KUBECTL_POLICIES = {
    **_HANDLER_POLICIES,
    "AmazonEC2ContainerRegistryPullOnly": (
        "aws-cdk-lib's KubectlProvider attaches AmazonEC2ContainerRegistryPullOnly to the kubectl handler's "
        "role so Helm charts can be pulled from Amazon ECR (OCI, aws-cdk#18547)."
    ),
    "AmazonElasticContainerRegistryPublicReadOnly": (
        "aws-cdk-lib's KubectlProvider attaches AmazonElasticContainerRegistryPublicReadOnly to the kubectl "
        "handler's role (in the aws partition only, a CloudFormation condition) so Helm charts can be pulled "
        "from Amazon ECR Public."
    ),
}
_NODE_POLICIES = {
    name: (
        f"{name} is one of the AWS managed policies the Amazon EKS user guide gives the node IAM role "
        f"({_EKS_GUIDE}/create-node-role.html: worker node, VPC CNI, image pulls); aws-cdk-lib attaches it "
        "to the node role it creates for the cluster's capacity."
    )
    for name in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")
}
_FARGATE_POLICIES = {
    "AmazonEKSFargatePodExecutionRolePolicy": (
        "A Fargate profile's Pod execution role needs the AWS managed AmazonEKSFargatePodExecutionRolePolicy "
        f"({_EKS_GUIDE}/pod-execution-role.html); aws-cdk-lib attaches it to the role it creates for the "
        "profile."
    ),
}
_CREATION_ROLE = (
    "aws-cdk-lib's cluster-creation role (its cluster custom resource assumes it to create and update the "
    "cluster): eks actions on the cluster and its sub-resources (cluster/NAME/*, fargateprofile/NAME/*, or "
    "'*' while the name is generated at creation), iam:GetRole, iam:ListAttachedRolePolicies, "
    "iam:CreateServiceLinkedRole and ec2:Describe* (no resource-level permissions) on '*'; aws-cdk-lib "
    "offers no narrower option."
)
_PROVIDER_INVOKE = (
    "aws-cdk-lib's custom-resource provider framework for the EKS cluster may invoke its own handler "
    "functions and their versions and aliases (FUNCTION_ARN:*), nothing else."
)
_WAITER = {
    "SF1": (
        "The waiter state machine of aws-cdk-lib's EKS cluster-resource provider: aws-cdk-lib turns its "
        "logging off (disableWaiterStateMachineLogging) and eks.Cluster offers no option to turn it on."
    ),
    "SF2": (
        "The waiter state machine of aws-cdk-lib's EKS cluster-resource provider: the provider framework "
        "offers no X-Ray tracing option."
    ),
}
_PROVIDERS = ("@aws-cdk--aws-eks.ClusterResourceProvider", "@aws-cdk--aws-eks.KubectlProvider")


def _policy_named(finding: str, policies: Mapping[str, str]) -> str | None:
    """The reason for the AWS managed policy an IAM4 finding names, when it is one of ``policies``."""
    for name, reason in policies.items():
        if re.search(rf"policy/(service-role/)?{re.escape(name)}(?![A-Za-z0-9_])", finding):
            return reason
    return None


def _roles_created_by(owner: IConstruct, role: iam.IRole | None) -> Iterable[CfnResource]:
    """The L1 role (and policies) of ``role`` when ``owner`` created it (a role of yours is not CDK's)."""
    # By path: a construct aws-cdk-lib created is not always the same Python object each time it is read.
    if not isinstance(role, iam.Role):
        return []
    scope = role.node.scope
    if scope is None or scope.node.path != owner.node.path:
        return []
    return [c for c in role.node.find_all() if isinstance(c, CfnResource)]


class _EksAcknowledgements:
    """What :func:`acknowledge_eks_cluster` acknowledges, computed at validation."""

    def __init__(
        self, cluster: eks.Cluster, public_endpoint: str | None, control_plane_logs: str | None
    ) -> None:
        self._cluster = cluster
        self._public_endpoint, self._logs = public_endpoint, control_plane_logs

    def __call__(self) -> None:
        cluster = self._cluster
        self._managed(_roles_created_by(cluster, cluster.role), _CLUSTER_POLICY)
        self._managed(_roles_created_by(cluster, cluster.kubectl_lambda_role), _KUBECTL_POLICIES)
        # The creation role is always aws-cdk-lib's (eks.Cluster takes no role for it).
        for resource in cluster.admin_role.node.find_all():
            if not isinstance(resource, CfnResource):
                continue
            for finding, _ in iam_findings(resource, "IAM5"):
                _acknowledge_finding(resource, "IAM5", _CREATION_ROLE, finding)
        for child in cluster.node.children:
            if isinstance(child, eks.Nodegroup | autoscaling.AutoScalingGroup):
                self._managed(_roles_created_by(child, child.role), _NODE_POLICIES)
            elif isinstance(child, eks.FargateProfile):
                self._managed(_roles_created_by(child, child.pod_execution_role), _FARGATE_POLICIES)
        stack = Stack.of(cluster)
        for provider_id in _PROVIDERS:
            provider = stack.node.try_find_child(provider_id)
            if provider is not None:
                self._provider(provider)
        if self._public_endpoint is not None:
            acknowledge(cluster, "EKS1", self._public_endpoint)
        if self._logs is not None:
            exports = GRANULAR_LOG_EXPORTS["EKS2"]
            acknowledge_findings(cluster, "EKS2", {f"LogExport::{e}": self._logs for e in exports})

    @staticmethod
    def _managed(resources: Iterable[CfnResource], policies: Mapping[str, str]) -> None:
        for resource in resources:
            for finding, _ in iam_findings(resource, "IAM4"):
                reason = _policy_named(finding, policies)
                if reason is not None:
                    _acknowledge_finding(resource, "IAM4", reason, finding)

    def _provider(self, provider: IConstruct) -> None:
        """A provider stack aws-cdk-lib shares between the clusters of a stack: its handler roles, their
        invoke grants, the waiter state machine and the kubectl handler's runtime."""
        for resource in provider.node.find_all():
            if not isinstance(resource, CfnResource):
                continue
            self._managed([resource], _HANDLER_POLICIES)
            for finding, actions in iam_findings(resource, "IAM5"):
                if actions and all(a == "lambda:InvokeFunction" for a in actions):
                    _acknowledge_finding(resource, "IAM5", _PROVIDER_INVOKE, finding)
            if isinstance(resource, sfn.CfnStateMachine):
                for rule, reason in _WAITER.items():
                    _acknowledge_finding(resource, rule, reason, None)
            parent = resource.node.scope
            if (
                isinstance(resource, lambda_.CfnFunction)
                and parent is not None
                and parent.node.id == "Handler"
            ):
                runtime = Stack.of(resource).resolve(resource.runtime)
                _acknowledge_finding(
                    resource,
                    "L1",
                    f"aws-cdk-lib's kubectl handler runs on the runtime aws-cdk-lib chooses ({runtime} in "
                    "this aws-cdk-lib); eks.Cluster offers no option to change it, upgrading aws-cdk-lib "
                    "does.",
                    None,
                )


def acknowledge_eks_cluster(
    cluster: eks.Cluster,
    *,
    public_endpoint: str | None = None,
    control_plane_logs: str | None = None,
) -> None:
    """Acknowledge the cdk-nag (AwsSolutions) findings on what aws-cdk-lib creates for ``cluster`` that its
    props cannot change, each with the reason it is so (checked against what cdk-nag 3.0 reports on a
    synthesized cluster, ``tests/unit/test_acknowledgements.py``):

    * IAM4 for the AWS managed policies aws-cdk-lib attaches to the roles it creates: the cluster role
      (AmazonEKSClusterPolicy), the kubectl handler role (AWSLambdaBasicExecutionRole,
      AWSLambdaVPCAccessExecutionRole, the ECR pull policies for Helm charts), node roles of nodegroups and
      Auto Scaling capacity (the EKS node policies), Fargate profiles' Pod execution roles, and the handler
      roles of the cluster and kubectl providers. A policy you add yourself stays reported.
    * IAM5 on the cluster-creation role, and on the provider framework's ``lambda:InvokeFunction`` on its
      own handlers (``ARN:*``).
    * SF1 and SF2 on the provider's waiter state machine, L1 on the kubectl handler (its runtime is
      aws-cdk-lib's).

    What the cluster's props decide stays reported unless you give a reason: its public API endpoint (EKS1,
    ``endpoint_access=eks.EndpointAccess.PRIVATE`` removes it) and its control-plane logs (EKS2,
    ``cluster_logging=[...]``). The acknowledgements are computed when the app is validated, so capacity,
    profiles and manifests added after this call are covered.

    :param cluster: the cluster (an ``eks.Cluster`` of this app; an imported cluster creates nothing).
    :param public_endpoint: why the API server endpoint is public: acknowledges EKS1 with this reason.
        Default: EKS1 stays reported.
    :param control_plane_logs: why control-plane log types are not exported: acknowledges every EKS2 finding
        with this reason. Default: EKS2 stays reported.
    """
    for rule, reason in (("EKS1", public_endpoint), ("EKS2", control_plane_logs)):
        if reason is not None:
            _check_reason(cluster, rule, reason)
    cluster.node.add_validation(_Deferred(_EksAcknowledgements(cluster, public_endpoint, control_plane_logs)))
