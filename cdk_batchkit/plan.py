"""Print a short plan for a synthesized cloud assembly: lint, security findings, resources and idle cost.

Usage::

    python -m cdk_batchkit.plan [ASSEMBLY_DIR]      # default: cdk.out

``make synth`` runs ``npx cdk synth --quiet`` and then this module. It reads every CloudFormation
template in the assembly (``*.template.json`` at the top level and in nested stage assemblies
``assembly-*/``) and prints:

1. cfn-lint 1.x matches (errors and warnings; informational ``I`` rules are ignored);
2. security findings: cdk-nag 3.x runs as a policy-validation plugin during synth, so a synth that
   succeeded has no unacknowledged finding. ``validation-report.json`` is still read: violations in it
   are reported and fail the plan (for instance when ``make plan`` runs on the output of a failed synth).
   Acknowledgements (``Validations.of(scope).acknowledge(...)``) are listed per rule id with their
   reasons; an acknowledgement without a reason fails the plan. Then the template-wide rules
   (``cdk_batchkit.model.rules.templates``, BK-G1..G3) run on every template: an AWS managed policy ARN
   AWS does not publish, a service principal granted in a topic, queue, bucket or key policy without
   ``aws:SourceAccount``/``aws:SourceArn``, launch template user data that is not MIME multipart. Each
   fails the plan;
3. the resources by CloudFormation type, per stack and in total;
4. the estimated idle monthly cost: what the stacks cost per month while no job runs.

Exit status: 0 when there is no cfn-lint error, no unacknowledged finding, no acknowledgement without a
reason and no template-check finding; 1 otherwise; 2 when the directory holds no template.

Every piece is a function that tests and users can call: :func:`load_templates`, :func:`lint`,
:func:`acknowledgements`, :func:`validation_failures`, :func:`template_findings`,
:func:`resources_by_type`, :func:`idle_cost`.

Idle cost model
---------------
Approximate us-east-1 on-demand list prices (checked November 2026), 730 hours per month, free tiers
not applied. Only resources with an always-on price are listed; everything else (Batch jobs, Fargate
tasks, Lambda invocations, S3, logs, data transfer, requests) is pay-per-use and counts as $0. Values
that are not resolved at synth (``{"Ref": ...}`` and other intrinsics) give an "unknown, check by hand"
line instead of a figure.

========================================  =================================================================
Resource type                             Idle price
========================================  =================================================================
AWS::EC2::NatGateway                      $0.045 per hour (data processing is per GB)
AWS::EC2::VPCEndpoint (Interface, GWLB)   $0.01 per hour per subnet (one endpoint network interface per AZ)
AWS::EC2::VPCEndpoint (Gateway)           free
AWS::EC2::EIP                             $0.005 per hour (public IPv4 address)
AWS::EC2::Instance                        always on; a few common types are listed, others ~$0.048/vCPU-h
AWS::Batch::ComputeEnvironment            MinvCpus > 0 keeps EC2 capacity running: ~$0.048 per vCPU-hour,
                                          Spot ~35 % of that; Fargate (and MinvCpus 0) has no idle cost
AWS::KMS::Key, AWS::KMS::ReplicaKey       $1 per month, plus $0.03 per 10,000 requests (not idle cost)
AWS::SecretsManager::Secret               $0.40 per month (plus one per replica region)
AWS::CloudWatch::Dashboard                $3 per month
AWS::CloudWatch::Alarm                    $0.10 per metric per month ($0.30 at high resolution, Period < 60)
AWS::CloudWatch::CompositeAlarm           $0.50 per month
AWS::DynamoDB::Table (PROVISIONED)        $0.00013 per RCU-hour, $0.00065 per WCU-hour (table + GSIs)
AWS::Lambda::Alias / Version with         $0.0000041667 per GB-second configured (arm64: $0.0000033334),
  ProvisionedConcurrencyConfig            memory read from the function in the same template
AWS::ElasticLoadBalancingV2::LoadBalancer $0.0225 per hour (Gateway Load Balancer $0.0125)
AWS::EKS::Cluster,                        $0.10 per hour (control plane, standard support; $0.60 per hour
  Custom::AWSCDK-EKS-Cluster              in extended support). aws_eks.Cluster renders the custom resource.
AWS::FSx::FileSystem (LUSTRE)             storage capacity (GB) x a per-GB-month rate by deployment type,
                                          storage type and throughput per TiB (estimates, see below);
                                          other FSx types (ONTAP, OpenZFS, Windows): unknown, check by hand
AWS::EC2::VPNConnection, Transit Gateway  $0.05 per hour per connection / attachment
  attachments
AWS::Route53::HostedZone                  $0.50 per month
Databases, file systems, brokers ...      always on, not modelled: listed as "unknown, check by hand"
========================================  =================================================================

Sources of the two prices added in December 2026. EKS: $0.10 per cluster per hour in standard support
and $0.60 in extended support, so about $73 a month
(https://aws.amazon.com/blogs/containers/amazon-eks-extended-support-for-kubernetes-versions-pricing/ and
https://aws.amazon.com/eks/pricing/). FSx for Lustre (https://aws.amazon.com/fsx/lustre/pricing/): the AWS
price table could not be read offline. SCRATCH_2 at $0.140 and PERSISTENT_2 (125 MB/s/TiB) at $0.145 per
GB-month match public cost guides (learning-aws.readthedocs.io, c3x.dev); the other rates are us-east-1
list prices as remembered, unconfirmed: every FSx line is labelled "estimate". The HDD SSD cache,
metadata IOPS, backups and the Intelligent-Tiering class are not priced (unknown where they apply).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Acknowledgement",
    "CostLine",
    "LintFinding",
    "PlanError",
    "Template",
    "TemplateFinding",
    "ValidationFinding",
    "acknowledgements",
    "idle_cost",
    "lint",
    "load_templates",
    "main",
    "resources_by_type",
    "template_findings",
    "total_by_type",
    "total_monthly",
    "validation_failures",
]

HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

# ---- price table (USD, us-east-1 on-demand list prices, approximate) ----------------------------------
NAT_GATEWAY_PER_HOUR = 0.045
INTERFACE_ENDPOINT_PER_AZ_HOUR = 0.01
PUBLIC_IPV4_PER_HOUR = 0.005
KMS_KEY_PER_MONTH = 1.00
DASHBOARD_PER_MONTH = 3.00
ALARM_PER_METRIC_MONTH = 0.10
HIGH_RESOLUTION_ALARM_PER_METRIC_MONTH = 0.30
COMPOSITE_ALARM_PER_MONTH = 0.50
SECRET_PER_MONTH = 0.40
EC2_PER_VCPU_HOUR = 0.048
SPOT_FRACTION = 0.35
DYNAMODB_RCU_PER_HOUR = 0.00013
DYNAMODB_WCU_PER_HOUR = 0.00065
LAMBDA_PROVISIONED_PER_GB_SECOND = 0.0000041667
LAMBDA_PROVISIONED_ARM_PER_GB_SECOND = 0.0000033334
LOAD_BALANCER_PER_HOUR = 0.0225
GATEWAY_LOAD_BALANCER_PER_HOUR = 0.0125
EKS_CLUSTER_PER_HOUR = 0.10
EKS_EXTENDED_SUPPORT_PER_HOUR = 0.60
#: FSx for Lustre, $/GB-month of storage capacity by (deployment type, storage type, MB/s per TiB or None).
#: Estimates (see the module docstring): only SCRATCH_2 and PERSISTENT_2/125 match a second source.
FSX_LUSTRE_PER_GB_MONTH: dict[tuple[str, str, int | None], float] = {
    ("SCRATCH_1", "SSD", None): 0.140,
    ("SCRATCH_2", "SSD", None): 0.140,
    ("PERSISTENT_1", "SSD", 50): 0.145,
    ("PERSISTENT_1", "SSD", 100): 0.210,
    ("PERSISTENT_1", "SSD", 200): 0.290,
    ("PERSISTENT_1", "HDD", 12): 0.025,
    ("PERSISTENT_1", "HDD", 40): 0.083,
    ("PERSISTENT_2", "SSD", 125): 0.145,
    ("PERSISTENT_2", "SSD", 250): 0.210,
    ("PERSISTENT_2", "SSD", 500): 0.340,
    ("PERSISTENT_2", "SSD", 1000): 0.600,
}
VPN_CONNECTION_PER_HOUR = 0.05
TRANSIT_GATEWAY_ATTACHMENT_PER_HOUR = 0.05
HOSTED_ZONE_PER_MONTH = 0.50

#: A few common instance types (Linux, on-demand, $/hour). Others are estimated from their size.
EC2_INSTANCE_PER_HOUR: dict[str, float] = {
    "t3.nano": 0.0052,
    "t3.micro": 0.0104,
    "t3.small": 0.0208,
    "t3.medium": 0.0416,
    "t3.large": 0.0832,
    "t4g.nano": 0.0042,
    "t4g.micro": 0.0084,
    "t4g.small": 0.0168,
    "t4g.medium": 0.0336,
    "t4g.large": 0.0672,
    "m1.small": 0.044,
    "m5.large": 0.096,
    "m6i.large": 0.096,
    "m7i.large": 0.1008,
    "m7g.large": 0.0816,
    "c5.large": 0.085,
    "c6i.large": 0.085,
    "c7g.large": 0.0725,
    "r5.large": 0.126,
}

#: Always-on resource types whose price depends on too many settings to model here.
NOT_MODELLED_ALWAYS_ON = frozenset(
    {
        "AWS::AmazonMQ::Broker",
        "AWS::DocDB::DBInstance",
        "AWS::EC2::ClientVpnEndpoint",
        "AWS::ElastiCache::CacheCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::Elasticsearch::Domain",
        "AWS::MSK::Cluster",
        "AWS::Neptune::DBInstance",
        "AWS::NetworkFirewall::Firewall",
        "AWS::OpenSearchService::Domain",
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
        "AWS::Redshift::Cluster",
        "AWS::SageMaker::Endpoint",
    }
)


class PlanError(Exception):
    """The assembly cannot be read (for instance a template that is not valid JSON)."""


# ---- loading -------------------------------------------------------------------------------------------


@dataclass
class Template:
    """One synthesized CloudFormation template."""

    stack: str
    """Display name of the stack (``Stage/Stack`` inside a stage), or the file name without suffix."""
    path: Path
    body: dict[str, Any]
    construct_acknowledgements: list[tuple[str, str, str]] = field(default_factory=list)
    """``(construct path, rule id, reason)`` recorded by ``Validations.acknowledge`` in the assembly
    metadata (``aws:cdk:acknowledged-rules``). They complement the ``cdk_nag`` resource metadata, which
    cdk-nag does not write for stacks inside a ``Stage`` or without ``write_suppressions_to_cloud_formation``.
    """

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources = self.body.get("Resources")
        if not isinstance(resources, dict):
            return {}
        return {k: v for k, v in resources.items() if isinstance(v, dict)}


def _assembly_dirs(directory: Path) -> Iterator[Path]:
    yield directory
    for child in sorted(directory.glob("assembly-*")):
        if child.is_dir():
            yield from _assembly_dirs(child)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanError(f"{path}: cannot read JSON ({exc})") from exc


def _acknowledged_rules(metadata: Any) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    if not isinstance(metadata, dict):
        return found
    for construct_path, entries in metadata.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("type") != "aws:cdk:acknowledged-rules":
                continue
            data = entry.get("data")
            if isinstance(data, dict):
                found.extend((str(construct_path), str(rule), _text(reason)) for rule, reason in data.items())
    return found


def _stack_artifacts(assembly: Path) -> dict[str, tuple[str, list[tuple[str, str, str]]]]:
    """Map template file name -> (stack display name, acknowledgements) from the assembly manifest."""
    manifest_path = assembly / "manifest.json"
    if not manifest_path.is_file():
        return {}
    manifest = _read_json(manifest_path)
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    result: dict[str, tuple[str, list[tuple[str, str, str]]]] = {}
    if not isinstance(artifacts, dict):
        return result
    for artifact_id, artifact in artifacts.items():
        if not isinstance(artifact, dict) or artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties") or {}
        template_file = properties.get("templateFile") if isinstance(properties, dict) else None
        if not isinstance(template_file, str):
            continue
        acks = _acknowledged_rules(artifact.get("metadata"))
        extra = artifact.get("additionalMetadataFile")
        if isinstance(extra, str) and (assembly / extra).is_file():
            acks.extend(_acknowledged_rules(_read_json(assembly / extra)))
        result[template_file] = (str(artifact.get("displayName") or artifact_id), acks)
    return result


def load_templates(directory: str | Path) -> list[Template]:
    """Every CloudFormation template of the cloud assembly in ``directory`` (and its stage assemblies).

    Returns an empty list when the directory does not exist or holds no template. Raises
    :class:`PlanError` when a template is not valid JSON.
    """
    root = Path(directory)
    if not root.is_dir():
        return []
    templates: list[Template] = []
    for assembly in _assembly_dirs(root):
        stacks = _stack_artifacts(assembly)
        for path in sorted(assembly.glob("*.template.json")):
            body = _read_json(path)
            if not isinstance(body, dict):
                raise PlanError(f"{path}: a template must be a JSON object")
            name, acks = stacks.get(path.name, (path.name.removesuffix(".template.json"), []))
            templates.append(Template(stack=name, path=path, body=body, construct_acknowledgements=acks))
    return templates


# ---- cfn-lint ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LintFinding:
    rule_id: str
    severity: str
    """``error`` (E rules) or ``warning`` (W rules)."""
    filename: str
    location: str
    """Path inside the template, such as ``Resources/Queue/Properties/VisibilityTimeout``."""
    line: int
    message: str


_SEVERITIES = {"E": "error", "W": "warning", "I": "informational"}


def lint(paths: Iterable[str | Path], regions: Sequence[str] = ("us-east-1",)) -> list[LintFinding]:
    """Run cfn-lint 1.x over the template files; informational (I) matches are dropped.

    A ``.cfnlintrc`` in the current directory is honoured, as with the cfn-lint command.
    """
    files = [str(p) for p in paths]
    if not files:
        return []
    # Imported here so that importing cdk_batchkit never needs the dev dependency cfn-lint.
    from cfnlint.api import ManualArgs, lint_by_config

    matches = lint_by_config(ManualArgs(templates=files, regions=list(regions)))
    findings: list[LintFinding] = []
    for match in matches:
        rule_id = str(match.rule.id)
        severity = _SEVERITIES.get(rule_id[:1].upper(), "error")
        if severity == "informational":
            continue
        location = getattr(match, "path_string", None) or "/".join(str(p) for p in getattr(match, "path", []))
        findings.append(
            LintFinding(
                rule_id=rule_id,
                severity=severity,
                filename=str(match.filename or ""),
                location=str(location),
                line=int(match.linenumber or 0),
                message=str(match.message),
            )
        )
    return findings


# ---- security findings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationFinding:
    """An unacknowledged violation from a policy-validation plugin (cdk-nag) in validation-report.json."""

    plugin: str
    rule_id: str
    construct_path: str
    description: str


def validation_failures(directory: str | Path) -> list[ValidationFinding]:
    """Violations recorded in ``validation-report.json`` of the assembly (and its stage assemblies)."""
    root = Path(directory)
    findings: list[ValidationFinding] = []
    if not root.is_dir():
        return findings
    for assembly in _assembly_dirs(root):
        report_path = assembly / "validation-report.json"
        if not report_path.is_file():
            continue
        report = _read_json(report_path)
        reports = report.get("pluginReports") if isinstance(report, dict) else None
        for plugin_report in reports if isinstance(reports, list) else []:
            if not isinstance(plugin_report, dict):
                continue
            plugin = str(plugin_report.get("pluginName", "?"))
            violations = plugin_report.get("violations") or []
            for violation in violations if isinstance(violations, list) else []:
                if not isinstance(violation, dict):
                    continue
                constructs = violation.get("violatingConstructs") or [{}]
                for construct in constructs:
                    path = construct.get("constructPath", "?") if isinstance(construct, dict) else "?"
                    findings.append(
                        ValidationFinding(
                            plugin=plugin,
                            rule_id=str(violation.get("ruleName", "?")),
                            construct_path=str(path),
                            description=str(violation.get("description", "")),
                        )
                    )
            if plugin_report.get("conclusion") == "failure" and not violations:
                findings.append(ValidationFinding(plugin, "(plugin failed)", "", "conclusion: failure"))
    return findings


@dataclass(frozen=True)
class Acknowledgement:
    """An acknowledged (suppressed) finding."""

    stack: str
    where: str
    """Logical id of the resource carrying the ``cdk_nag`` metadata, or the construct path of the scope
    that called ``Validations.acknowledge`` (for acknowledgements only found in the assembly metadata)."""
    rule_id: str
    """As written, e.g. ``AwsSolutions-IAM5[Resource::*]`` or ``AwsSolutions::AwsSolutions-S1``."""
    reason: str

    @property
    def rule(self) -> str:
        """The rule id without a redundant prefix.

        ``AwsSolutions::AwsSolutions-S1`` and ``Annotation::AwsSolutions-S1`` give ``AwsSolutions-S1``.
        """
        return _normalize_rule(self.rule_id)


def _normalize_rule(rule_id: str) -> str:
    """Drop the redundant prefixes CDK adds to acknowledged ids: ``Annotation::X`` and
    ``AwsSolutions::AwsSolutions-X`` become ``X`` and ``AwsSolutions-X``; other plugin prefixes
    (``CloudFormation-Validate::W3010``, acknowledged by aws-cdk-lib itself) are kept."""
    head, sep, tail = rule_id.partition("::")
    if sep and "[" not in head and (head == "Annotation" or tail.startswith(head + "-")):
        return tail
    return rule_id


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _template_acknowledgements(template: Template) -> Iterator[Acknowledgement]:
    for logical_id, resource in template.resources.items():
        metadata = resource.get("Metadata")
        cdk_nag = metadata.get("cdk_nag") if isinstance(metadata, dict) else None
        entries = cdk_nag.get("rules_to_suppress") if isinstance(cdk_nag, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            rule_id = _text(entry.get("id")) or "?"
            reason = _text(entry.get("reason"))
            applies_to = entry.get("applies_to")  # cdk-nag 2.x shape; 3.x puts the finding in the id
            if isinstance(applies_to, list) and applies_to:
                for finding in applies_to:
                    yield Acknowledgement(template.stack, logical_id, f"{rule_id}[{_text(finding)}]", reason)
            else:
                yield Acknowledgement(template.stack, logical_id, rule_id, reason)


def acknowledgements(templates: Iterable[Template]) -> list[Acknowledgement]:
    """Acknowledged findings: the ``cdk_nag.rules_to_suppress`` resource metadata of every template, plus
    the acknowledgements recorded only in the assembly metadata (stacks inside a Stage, or synth without
    ``write_suppressions_to_cloud_formation``)."""
    result: list[Acknowledgement] = []
    for template in templates:
        from_template = list(_template_acknowledgements(template))
        result.extend(from_template)
        seen = {(a.rule, a.reason) for a in from_template}
        for construct_path, rule_id, reason in template.construct_acknowledgements:
            ack = Acknowledgement(template.stack, construct_path, rule_id, reason)
            if (ack.rule, ack.reason) not in seen:
                seen.add((ack.rule, ack.reason))
                result.append(ack)
    return result


@dataclass(frozen=True)
class TemplateFinding:
    """A problem a template-wide rule (BK-G1..G3) found in a template."""

    stack: str
    rule_id: str
    where: str
    """The path in the template, such as ``Resources.Role.Properties.ManagedPolicyArns[0]``."""
    message: str


def template_findings(templates: Iterable[Template]) -> list[TemplateFinding]:
    """What the template-wide rules (``cdk_batchkit.model.rules.templates``) find in every template."""
    # Imported here: the model's rule book is not needed to read an assembly.
    from .model.rules.templates import check_template

    return [
        TemplateFinding(template.stack, problem.rule, problem.prop, f"{problem.value!r}: {problem.why}")
        for template in templates
        for problem in check_template(template.body)
    ]


# ---- resources -----------------------------------------------------------------------------------------


def resources_by_type(templates: Iterable[Template]) -> dict[str, Counter[str]]:
    """Stack name -> CloudFormation resource type -> count."""
    counts: dict[str, Counter[str]] = {}
    for template in templates:
        counter = counts.setdefault(template.stack, Counter())
        for resource in template.resources.values():
            counter[str(resource.get("Type", "?"))] += 1
    return counts


def total_by_type(counts: Mapping[str, Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for counter in counts.values():
        total.update(counter)
    return total


# ---- idle cost -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    stack: str
    logical_id: str
    resource_type: str
    why: str
    monthly_usd: float | None
    """Estimated $/month, or None when it cannot be known from the template (check by hand)."""


#: (why, $/month or None when unknown)
Estimate = tuple[str, float | None]
#: A pure function of a resource's Properties and the template's Resources (for lookups).
Estimator = Callable[[Mapping[str, Any], Mapping[str, Any]], Estimate | None]

_UNKNOWN = "unknown, check by hand"


def _number(value: Any) -> float | None:
    """A literal number (or numeric string); None for intrinsics and anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _display(value: Any) -> str:
    """A readable rendering of a literal or a simple intrinsic (Ref, Fn::Join)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return "${" + str(arg) + "}"
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return str(arg[0]).join(_display(part) for part in arg[1])
        return "{" + key + "}"
    return str(value)


def _hourly(rate: float) -> float:
    return rate * HOURS_PER_MONTH


def nat_gateway_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    return (f"NAT gateway ${NAT_GATEWAY_PER_HOUR}/h (+ data per GB)", _hourly(NAT_GATEWAY_PER_HOUR))


def vpc_endpoint_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    endpoint_type = props.get("VpcEndpointType", "Gateway")
    service = _display(props.get("ServiceName", "?"))
    if not isinstance(endpoint_type, str):
        return (f"endpoint {service}: type unresolved, {_UNKNOWN}", None)
    if endpoint_type == "Gateway":
        return None
    if endpoint_type not in ("Interface", "GatewayLoadBalancer"):
        return (f"{endpoint_type} endpoint {service}: not modelled, {_UNKNOWN}", None)
    subnets = props.get("SubnetIds")
    if not isinstance(subnets, list) or not subnets:
        return (f"{endpoint_type} endpoint {service}: subnet count unresolved, {_UNKNOWN}", None)
    rate = INTERFACE_ENDPOINT_PER_AZ_HOUR
    return (
        f"{endpoint_type} endpoint {service}: {len(subnets)} subnet(s) x ${rate}/h",
        len(subnets) * _hourly(rate),
    )


def eip_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    return (f"public IPv4 address ${PUBLIC_IPV4_PER_HOUR}/h", _hourly(PUBLIC_IPV4_PER_HOUR))


def kms_key_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    return ("customer managed KMS key (+ $0.03 per 10,000 requests)", KMS_KEY_PER_MONTH)


def dashboard_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    return ("CloudWatch dashboard (free tier not applied)", DASHBOARD_PER_MONTH)


def alarm_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    metrics = props.get("Metrics")
    count = 1
    if isinstance(metrics, list):
        count = max(1, sum(1 for m in metrics if isinstance(m, dict) and "MetricStat" in m))
    period = _number(props.get("Period"))
    high_resolution = period is not None and period < 60
    rate = HIGH_RESOLUTION_ALARM_PER_METRIC_MONTH if high_resolution else ALARM_PER_METRIC_MONTH
    kind = "high-resolution" if high_resolution else "standard"
    return (f"{kind} alarm, {count} metric(s) x ${rate:.2f}/month", count * rate)


def composite_alarm_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    return ("composite alarm", COMPOSITE_ALARM_PER_MONTH)


def secret_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    replicas = props.get("ReplicaRegions")
    copies = 1 + (len(replicas) if isinstance(replicas, list) else 0)
    return (
        f"secret, {copies} copy(ies) x ${SECRET_PER_MONTH:.2f}/month (+ API calls)",
        copies * SECRET_PER_MONTH,
    )


def batch_compute_environment_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    ce_type = props.get("Type")
    if isinstance(ce_type, str) and ce_type.upper() == "UNMANAGED":
        return None
    compute = props.get("ComputeResources")
    if compute is None:
        return None
    if not isinstance(compute, dict):
        return (f"ComputeResources unresolved, {_UNKNOWN}", None)
    resource_type = compute.get("Type")
    if not isinstance(resource_type, str):
        return (f"compute resource type unresolved, {_UNKNOWN}", None)
    resource_type = resource_type.upper()
    if resource_type in ("FARGATE", "FARGATE_SPOT"):
        return None  # Fargate has no idle capacity: MinvCpus is not used
    raw_min = compute.get("MinvCpus", 0)
    min_vcpus = _number(raw_min)
    if min_vcpus is None:
        return (f"{resource_type} MinvCpus unresolved ({_display(raw_min)}), {_UNKNOWN}", None)
    if min_vcpus <= 0:
        return None
    rate = EC2_PER_VCPU_HOUR * (SPOT_FRACTION if resource_type == "SPOT" else 1.0)
    return (
        f"{resource_type} MinvCpus={min_vcpus:g} keeps instances running: "
        f"{min_vcpus:g} vCPU x ${rate:.4f}/vCPU-h",
        min_vcpus * _hourly(rate),
    )


def dynamodb_table_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    billing = props.get("BillingMode", "PROVISIONED")  # CloudFormation's default
    if not isinstance(billing, str):
        return (f"billing mode unresolved, {_UNKNOWN}", None)
    if billing.upper() != "PROVISIONED":
        return None
    throughputs = [props.get("ProvisionedThroughput")]
    indexes = props.get("GlobalSecondaryIndexes")
    if isinstance(indexes, list):
        throughputs += [i.get("ProvisionedThroughput") for i in indexes if isinstance(i, dict)]
    rcu = wcu = 0.0
    for throughput in throughputs:
        if throughput is None:
            continue
        if not isinstance(throughput, dict):
            return (f"provisioned throughput unresolved, {_UNKNOWN}", None)
        read = _number(throughput.get("ReadCapacityUnits"))
        write = _number(throughput.get("WriteCapacityUnits"))
        if read is None or write is None:
            return (f"provisioned capacity unresolved, {_UNKNOWN}", None)
        rcu += read
        wcu += write
    if rcu == 0 and wcu == 0:
        return None
    return (
        f"PROVISIONED {rcu:g} RCU x ${DYNAMODB_RCU_PER_HOUR}/h + {wcu:g} WCU x ${DYNAMODB_WCU_PER_HOUR}/h",
        rcu * _hourly(DYNAMODB_RCU_PER_HOUR) + wcu * _hourly(DYNAMODB_WCU_PER_HOUR),
    )


def dynamodb_global_table_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    billing = props.get("BillingMode", "PROVISIONED")
    if isinstance(billing, str) and billing.upper() == "PAY_PER_REQUEST":
        return None
    return (f"global table with provisioned capacity (per replica), {_UNKNOWN}", None)


def lambda_provisioned_concurrency_cost(
    props: Mapping[str, Any], resources: Mapping[str, Any]
) -> Estimate | None:
    config = props.get("ProvisionedConcurrencyConfig")
    if config is None:
        return None
    raw = config.get("ProvisionedConcurrentExecutions") if isinstance(config, dict) else config
    executions = _number(raw)
    if executions is None:
        return (f"provisioned concurrency unresolved ({_display(raw)}), {_UNKNOWN}", None)
    if executions <= 0:
        return None
    function_name = props.get("FunctionName")
    target = function_name.get("Ref") if isinstance(function_name, dict) else None
    function = resources.get(target) if isinstance(target, str) else None
    if not isinstance(function, dict) or function.get("Type") != "AWS::Lambda::Function":
        return (f"{executions:g} provisioned, function memory unknown, {_UNKNOWN}", None)
    function_props = function.get("Properties") or {}
    memory = _number(function_props.get("MemorySize", 128))
    if memory is None:
        return (f"{executions:g} provisioned, memory unresolved, {_UNKNOWN}", None)
    architectures = function_props.get("Architectures")
    arm = isinstance(architectures, list) and "arm64" in architectures
    rate = LAMBDA_PROVISIONED_ARM_PER_GB_SECOND if arm else LAMBDA_PROVISIONED_PER_GB_SECOND
    gigabytes = memory / 1024
    return (
        f"{executions:g} provisioned x {memory:g} MB x ${rate}/GB-s",
        executions * gigabytes * rate * SECONDS_PER_MONTH,
    )


def _instance_hourly(instance_type: str) -> float | None:
    if instance_type in EC2_INSTANCE_PER_HOUR:
        return EC2_INSTANCE_PER_HOUR[instance_type]
    size = instance_type.partition(".")[2]
    match = re.fullmatch(r"(\d*)xlarge", size)
    if match:
        vcpus = 4 * int(match.group(1) or 1)
    elif size in ("nano", "micro", "small", "medium", "large"):
        vcpus = 2
    else:
        return None
    return vcpus * EC2_PER_VCPU_HOUR


def ec2_instance_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    instance_type = props.get("InstanceType", "m1.small")  # CloudFormation's default
    if not isinstance(instance_type, str):
        return (f"always-on instance, type unresolved, {_UNKNOWN}", None)
    hourly = _instance_hourly(instance_type)
    if hourly is None:
        return (f"always-on {instance_type}, price depends on type, {_UNKNOWN}", None)
    return (f"always-on {instance_type}, price depends on type: ~${hourly:.4f}/h (rough)", _hourly(hourly))


def load_balancer_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    kind = props.get("Type", "application")
    rate = GATEWAY_LOAD_BALANCER_PER_HOUR if kind == "gateway" else LOAD_BALANCER_PER_HOUR
    return (f"{_display(kind)} load balancer ${rate}/h (+ capacity units)", _hourly(rate))


def eks_cluster_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    """An EKS control plane: ``AWS::EKS::Cluster``, or ``Custom::AWSCDK-EKS-Cluster`` (what
    ``aws_eks.Cluster`` renders: a custom resource that creates the cluster), priced in standard support."""
    config = props.get("Config")
    version = config.get("version") if isinstance(config, Mapping) else props.get("Version")
    shown = f" {version}" if isinstance(version, str) else ""
    return (
        f"EKS control plane{shown} ${EKS_CLUSTER_PER_HOUR}/h "
        f"(${EKS_EXTENDED_SUPPORT_PER_HOUR}/h once the version is in extended support)",
        _hourly(EKS_CLUSTER_PER_HOUR),
    )


def fsx_file_system_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    """FSx for Lustre: storage capacity x the rate of its deployment type, storage type and throughput (the
    CloudFormation defaults: SCRATCH_1, SSD); other FSx file system types are not modelled."""
    kind = props.get("FileSystemType")
    if kind != "LUSTRE":
        return (f"FSx for {_display(kind)}: storage and throughput capacity, not modelled, {_UNKNOWN}", None)
    lustre = props.get("LustreConfiguration")
    lustre = lustre if isinstance(lustre, Mapping) else {}
    deployment, storage = lustre.get("DeploymentType", "SCRATCH_1"), props.get("StorageType", "SSD")
    throughput = _number(lustre.get("PerUnitStorageThroughput"))
    capacity = _number(props.get("StorageCapacity"))
    if not isinstance(deployment, str) or not isinstance(storage, str):
        return (f"FSx for Lustre, deployment or storage type unresolved, {_UNKNOWN}", None)
    what = f"FSx for Lustre {deployment} {storage}" + (f" {throughput:g} MB/s/TiB" if throughput else "")
    rate = FSX_LUSTRE_PER_GB_MONTH.get((deployment, storage, int(throughput) if throughput else None))
    if rate is None:
        return (f"{what}: rate not modelled, {_UNKNOWN}", None)
    if capacity is None:
        return (f"{what}: storage capacity unresolved, {_UNKNOWN}", None)
    extras = []
    if storage == "HDD" and lustre.get("DriveCacheType") == "READ":
        extras.append("+ SSD cache, not priced")
    if isinstance(lustre.get("MetadataConfiguration"), Mapping):
        extras.append("+ metadata IOPS, not priced")
    suffix = f" ({', '.join(extras)})" if extras else ""
    return (f"{what}: {capacity:g} GB x ${rate:.3f}/GB-month (estimate){suffix}", capacity * rate)


def vpn_connection_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    return (f"site-to-site VPN ${VPN_CONNECTION_PER_HOUR}/h", _hourly(VPN_CONNECTION_PER_HOUR))


def transit_gateway_attachment_cost(
    props: Mapping[str, Any], resources: Mapping[str, Any]
) -> Estimate | None:
    rate = TRANSIT_GATEWAY_ATTACHMENT_PER_HOUR
    return (f"transit gateway attachment ${rate}/h (+ data per GB)", _hourly(rate))


def hosted_zone_cost(props: Mapping[str, Any], resources: Mapping[str, Any]) -> Estimate | None:
    return ("Route 53 hosted zone (+ queries)", HOSTED_ZONE_PER_MONTH)


#: Resource type -> pure estimator. Types not listed are pay-per-use ($0 when idle).
ESTIMATORS: dict[str, Estimator] = {
    "AWS::EC2::NatGateway": nat_gateway_cost,
    "AWS::EC2::VPCEndpoint": vpc_endpoint_cost,
    "AWS::EC2::EIP": eip_cost,
    "AWS::EC2::Instance": ec2_instance_cost,
    "AWS::KMS::Key": kms_key_cost,
    "AWS::KMS::ReplicaKey": kms_key_cost,
    "AWS::CloudWatch::Dashboard": dashboard_cost,
    "AWS::CloudWatch::Alarm": alarm_cost,
    "AWS::CloudWatch::CompositeAlarm": composite_alarm_cost,
    "AWS::SecretsManager::Secret": secret_cost,
    "AWS::Batch::ComputeEnvironment": batch_compute_environment_cost,
    "AWS::DynamoDB::Table": dynamodb_table_cost,
    "AWS::DynamoDB::GlobalTable": dynamodb_global_table_cost,
    "AWS::Lambda::Alias": lambda_provisioned_concurrency_cost,
    "AWS::Lambda::Version": lambda_provisioned_concurrency_cost,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": load_balancer_cost,
    "AWS::EKS::Cluster": eks_cluster_cost,
    "Custom::AWSCDK-EKS-Cluster": eks_cluster_cost,
    "AWS::FSx::FileSystem": fsx_file_system_cost,
    "AWS::EC2::VPNConnection": vpn_connection_cost,
    "AWS::EC2::TransitGatewayAttachment": transit_gateway_attachment_cost,
    "AWS::EC2::TransitGatewayVpcAttachment": transit_gateway_attachment_cost,
    "AWS::Route53::HostedZone": hosted_zone_cost,
}


def resource_cost(resource: Mapping[str, Any], resources: Mapping[str, Any] | None = None) -> Estimate | None:
    """The idle estimate of one template resource, or None when it is pay-per-use."""
    resource_type = resource.get("Type")
    if not isinstance(resource_type, str):
        return None
    props = resource.get("Properties")
    if props is not None and not isinstance(props, dict):
        estimate: Estimate | None = (f"properties unresolved, {_UNKNOWN}", None)
    elif resource_type in ESTIMATORS:
        estimate = ESTIMATORS[resource_type](props or {}, resources or {})
    elif resource_type in NOT_MODELLED_ALWAYS_ON:
        estimate = (f"always on, price not modelled, {_UNKNOWN}", None)
    else:
        return None
    condition = resource.get("Condition")
    if estimate is not None and isinstance(condition, str):
        estimate = (f"{estimate[0]} (only if condition {condition})", estimate[1])
    return estimate


def idle_cost(templates: Iterable[Template]) -> list[CostLine]:
    """One line per resource that costs money while no job runs (unknown figures included)."""
    lines: list[CostLine] = []
    for template in templates:
        resources = template.resources
        for logical_id, resource in resources.items():
            estimate = resource_cost(resource, resources)
            if estimate is not None:
                why, monthly = estimate
                lines.append(CostLine(template.stack, logical_id, str(resource["Type"]), why, monthly))
    return lines


def total_monthly(lines: Iterable[CostLine]) -> float:
    """Sum of the known figures (unknown lines are not included)."""
    return round(sum(line.monthly_usd for line in lines if line.monthly_usd is not None), 2)


# ---- report --------------------------------------------------------------------------------------------


def _table(rows: Sequence[Sequence[str]], right_align_from: int = 1) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i >= right_align_from else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def _lint_section(templates: Sequence[Template]) -> tuple[list[str], int]:
    findings = lint([t.path for t in templates])
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    lines = [f"cfn-lint: {errors} error(s), {warnings} warning(s) in {len(templates)} template(s)"]
    for f in findings:
        lines.append(f"  {f.rule_id} {Path(f.filename).name}:{f.line} {f.location}: {f.message}")
    return lines, errors


def _opted_in(value: Any, path: str = "") -> list[str]:
    """Paths of ``Privileged: true`` (ECS containers, EKS security contexts) and ``HostNetwork: true``
    (EKS pods) anywhere in a job definition's properties."""
    if isinstance(value, dict):
        found = [
            f"{path}.{key}".lstrip(".") for key in ("Privileged", "HostNetwork") if value.get(key) is True
        ]
        for key, inner in value.items():
            found += _opted_in(inner, f"{path}.{key}")
        return found
    if isinstance(value, list):
        return [p for index, inner in enumerate(value) for p in _opted_in(inner, f"{path}[{index}]")]
    return []


def compute_notes(templates: Iterable[Template]) -> list[str]:
    """Security-relevant compute settings cdk-nag does not flag: an SSH key pair on Batch instances, an
    AMI Batch does not update, a launch template defined outside the stack (not checked at synth), and
    job definitions with privileged containers or EKS pods on the host network."""
    notes: list[str] = []
    for template in templates:
        resources = template.resources
        for logical_id, resource in resources.items():
            if resource.get("Type") == "AWS::Batch::JobDefinition":
                for path in _opted_in(resource.get("Properties") or {}):
                    what = (
                        "pod on the node's network (host network)"
                        if path.endswith("HostNetwork")
                        else "privileged container (root on the host)"
                    )
                    notes.append(f"{template.stack}/{logical_id}: {what}, opted in at {path}")
                continue
            if resource.get("Type") != "AWS::Batch::ComputeEnvironment":
                continue
            compute = (resource.get("Properties") or {}).get("ComputeResources")
            if not isinstance(compute, dict):
                continue
            where = f"{template.stack}/{logical_id}"
            if compute.get("Ec2KeyPair") is not None:
                notes.append(
                    f"{where}: EC2 key pair {_display(compute['Ec2KeyPair'])} (SSH); Session Manager needs "
                    "no key or open port"
                )
            images = [compute.get("ImageId")] + [
                c.get("ImageIdOverride") for c in compute.get("Ec2Configuration") or [] if isinstance(c, dict)
            ]
            for image in (i for i in images if i is not None):
                notes.append(
                    f"{where}: custom AMI {_display(image)}: Batch does not update it; patch it yourself"
                )
            spec = compute.get("LaunchTemplate")
            template_id = spec.get("LaunchTemplateId") if isinstance(spec, dict) else None
            if isinstance(template_id, str):
                notes.append(
                    f"{where}: launch template {template_id} is defined outside this stack: IMDSv2, volume "
                    "encryption and user data were not checked at synth"
                )
    return notes


def _security_section(
    directory: Path, templates: Sequence[Template]
) -> tuple[list[str], list[ValidationFinding], list[tuple[str, str]], list[TemplateFinding]]:
    failures = validation_failures(directory)
    lines = [f"Security (cdk-nag): {len(failures)} unacknowledged finding(s)"]
    for v in failures:
        lines.append(f"  {v.rule_id} at {v.construct_path} ({v.plugin}): {v.description}")
    acks = acknowledgements(templates)
    by_rule: dict[str, tuple[set[tuple[str, str]], set[str]]] = {}
    for ack in acks:
        places, reasons = by_rule.setdefault(ack.rule, (set(), set()))
        places.add((ack.stack, ack.where))
        reasons.add(ack.reason.strip())
    lines.append(
        f"Acknowledged findings: {len(by_rule)} rule id(s) (rule id, resources carrying it, reasons)"
    )
    for rule in sorted(by_rule):
        places, reasons = by_rule[rule]
        shown = "; ".join(sorted(r if r else "<NO REASON>" for r in reasons))
        lines.append(f"  {rule} x{len(places)}: {shown}")
    missing: dict[tuple[str, str], list[str]] = {}
    for ack in acks:
        if not ack.reason.strip():
            missing.setdefault((ack.stack, ack.rule_id), []).append(ack.where)
    for (stack, rule_id), where in missing.items():
        lines.append(f"  ERROR: {rule_id} acknowledged without a reason in {stack} ({', '.join(where)})")
    checks = template_findings(templates)
    lines.append(
        f"Template checks (BK-G1..G3: managed policies, service principals, user data): {len(checks)}"
    )
    lines += [f"  {f.rule_id} {f.stack} {f.where}: {f.message}" for f in checks]
    notes = compute_notes(templates)
    lines.append(f"Compute settings to review: {len(notes)}")
    lines += [f"  {note}" for note in notes]
    return lines, failures, list(missing), checks


def _resources_section(templates: Sequence[Template]) -> list[str]:
    counts = resources_by_type(templates)
    total = total_by_type(counts)
    stacks = list(counts)
    rows: list[list[str]] = [["Type", *stacks, "Total"]]
    for resource_type in sorted(total):
        rows.append(
            [
                resource_type,
                *(str(counts[s].get(resource_type, 0)) for s in stacks),
                str(total[resource_type]),
            ]
        )
    rows.append(["(all)", *(str(sum(counts[s].values())) for s in stacks), str(sum(total.values()))])
    return [f"Resources by type ({sum(total.values())} in {len(stacks)} stack(s)):", *_table(rows)]


def _cost_section(templates: Sequence[Template]) -> list[str]:
    lines = idle_cost(templates)
    total = total_monthly(lines)
    unknown = sum(1 for line in lines if line.monthly_usd is None)
    out = [
        "Estimated idle monthly cost (no job running; approximate us-east-1 on-demand list prices, "
        f"{HOURS_PER_MONTH} h/month; see cdk_batchkit/plan.py):"
    ]
    if lines:
        rows = [["Stack", "Logical id", "Type", "Why", "$/month"]]
        for line in lines:
            amount = "?" if line.monthly_usd is None else f"{line.monthly_usd:.2f}"
            rows.append([line.stack, line.logical_id, line.resource_type, line.why, amount])
        out += _table(rows, right_align_from=4)
    if total == 0 and not unknown:
        out.append("Idle monthly cost: $0.00 - everything is pay-per-use")
    else:
        suffix = f" + {unknown} item(s) unknown, check by hand" if unknown else ""
        out.append(f"Idle monthly cost: ${total:.2f} (approximate){suffix}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cdk_batchkit.plan",
        description="Lint the synthesized templates and print resources, security findings and idle cost.",
    )
    parser.add_argument(
        "assembly", nargs="?", default="cdk.out", help="cloud assembly directory (default: cdk.out)"
    )
    args = parser.parse_args(argv)
    directory = Path(args.assembly)

    try:
        templates = load_templates(directory)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not templates:
        print(f"No CloudFormation template in {directory}: run `make synth` first.", file=sys.stderr)
        return 2

    stacks = sorted({t.stack for t in templates})
    print(f"Plan for {directory} ({len(templates)} template(s): {', '.join(stacks)})")
    print()
    lint_lines, lint_errors = _lint_section(templates)
    print("\n".join(lint_lines))
    print()
    try:
        security_lines, failures, missing_reasons, checks = _security_section(directory, templates)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(security_lines))
    print()
    print("\n".join(_resources_section(templates)))
    print()
    print("\n".join(_cost_section(templates)))
    print()

    problems = []
    if lint_errors:
        problems.append(f"{lint_errors} cfn-lint error(s)")
    if failures:
        problems.append(f"{len(failures)} unacknowledged security finding(s)")
    if missing_reasons:
        problems.append(f"{len(missing_reasons)} acknowledgement(s) without a reason")
    if checks:
        problems.append(f"{len(checks)} template-check finding(s)")
    if problems:
        print("Result: FAILED - " + ", ".join(problems))
        return 1
    print("Result: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
