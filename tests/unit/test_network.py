"""BatchNetwork: the three network modes, a given VPC, and prop validation.

One stack per mode (the modes differ in what must *not* exist, which is only
checkable per template); each stack is synthesized once for the module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template
from constructs import IConstruct

from cdk_batchkit.constructs import (
    BatchNetwork,
    Ec2ComputeEnvironment,
    FargateComputeEnvironment,
    NetworkMode,
)
from tests.support import network, new_stack, only, template_of

INTERFACE_SERVICES = {"ecr.api", "ecr.dkr", "logs", "ecs", "ecs-agent", "ecs-telemetry", "sts"}


@dataclass
class Synth:
    stack: cdk.Stack
    template: Template
    resources: dict[str, Any]
    network: BatchNetwork
    compute: Ec2ComputeEnvironment

    def logical_id(self, construct: IConstruct) -> str:
        child = construct.node.default_child
        assert child is not None
        return self.stack.resolve(child.logical_id)  # type: ignore[attr-defined]

    def of_type(self, type_name: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == type_name}

    def compute_subnets(self) -> list[dict[str, Any]]:
        """The subnet resources the EC2 compute environment launches into."""
        refs = self.resources[self.logical_id(self.compute.resource)]["Properties"]["ComputeResources"][
            "Subnets"
        ]
        return [self.resources[ref["Ref"]] for ref in refs]


def _synth(stack: cdk.Stack, net: BatchNetwork) -> Synth:
    compute = Ec2ComputeEnvironment(stack, "Compute", network=net)
    template = template_of(stack)
    return Synth(stack, template, template.to_json()["Resources"], net, compute)


def _tag(resource: dict[str, Any], key: str) -> str | None:
    return next((t["Value"] for t in resource["Properties"].get("Tags", []) if t["Key"] == key), None)


def _service_suffix(service_name: Any) -> str:
    """``com.amazonaws.<region>.ecr.api`` (an Fn::Join around the region) -> ``ecr.api``."""
    parts = service_name["Fn::Join"][1] if isinstance(service_name, dict) else [service_name]
    return "".join(p for p in parts if isinstance(p, str)).rsplit("com.amazonaws.", 1)[-1].lstrip(".")


def _ingress_rules(synth: Synth, sg: ec2.SecurityGroup) -> list[dict[str, Any]]:
    """Inline and standalone ingress rules of ``sg``."""
    lid = synth.logical_id(sg)
    rules = list(synth.resources[lid]["Properties"].get("SecurityGroupIngress", []))
    for res in synth.of_type("AWS::EC2::SecurityGroupIngress").values():
        if res["Properties"]["GroupId"] == {"Fn::GetAtt": [lid, "GroupId"]}:
            rules.append(res["Properties"])
    return rules


@pytest.fixture(scope="module")
def public() -> Synth:
    stack = new_stack("Public")
    return _synth(stack, network(stack))


@pytest.fixture(scope="module")
def nat() -> Synth:
    stack = new_stack("Nat")
    net = network(stack, mode=NetworkMode.PRIVATE_WITH_NAT, flow_log_retention=logs.RetentionDays.ONE_WEEK)
    return _synth(stack, net)


@pytest.fixture(scope="module")
def endpoints() -> Synth:
    stack = new_stack("Endpoints")
    return _synth(stack, network(stack, mode=NetworkMode.PRIVATE_WITH_ENDPOINTS))


@dataclass
class GivenVpc:
    synth: Synth
    vpc: ec2.Vpc
    private: BatchNetwork
    private_fargate: FargateComputeEnvironment


@pytest.fixture(scope="module")
def given() -> GivenVpc:
    stack = new_stack("Given")
    vpc = ec2.Vpc(stack, "Existing", max_azs=2, nat_gateways=1)
    public_net = BatchNetwork(stack, "PublicNet", vpc=vpc)
    private_net = BatchNetwork(stack, "PrivateNet", vpc=vpc, mode=NetworkMode.PRIVATE_WITH_NAT)
    fargate = FargateComputeEnvironment(stack, "PrivateFargate", network=private_net)
    return GivenVpc(_synth(stack, public_net), vpc, private_net, fargate)


# --- PUBLIC (the default) ---------------------------------------------------------------------


def test_public_default_has_only_public_subnets(public: Synth) -> None:
    subnets = public.of_type("AWS::EC2::Subnet")
    assert len(subnets) == 2
    assert {_tag(s, "aws-cdk:subnet-type") for s in subnets.values()} == {"Public"}
    assert public.network.mode is NetworkMode.PUBLIC


def test_public_has_no_nat_and_no_endpoints(public: Synth) -> None:
    public.template.resource_count_is("AWS::EC2::NatGateway", 0)
    public.template.resource_count_is("AWS::EC2::EIP", 0)
    public.template.resource_count_is("AWS::EC2::VPCEndpoint", 0)


def test_public_compute_lands_in_public_subnets(public: Synth) -> None:
    subnets = public.compute_subnets()
    assert len(subnets) == 2
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is True for s in subnets)


def test_flow_log_goes_to_log_group_with_retention(public: Synth) -> None:
    flow_log = only(public.template, "AWS::EC2::FlowLog")
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    assert flow_log["ResourceId"] == public.stack.resolve(public.network.vpc.vpc_id)
    group_id = flow_log["LogGroupName"]["Ref"]
    assert public.resources[group_id]["Type"] == "AWS::Logs::LogGroup"
    assert public.resources[group_id]["Properties"]["RetentionInDays"] == 30


def test_flow_log_retention_is_configurable(nat: Synth) -> None:
    nat.template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7})


def test_compute_security_group_has_no_ingress(public: Synth) -> None:
    assert _ingress_rules(public, public.network.security_group) == []
    sg = public.resources[public.logical_id(public.network.security_group)]["Properties"]
    assert sg["VpcId"] == public.stack.resolve(public.network.vpc.vpc_id)


def test_public_mode_properties(public: Synth) -> None:
    assert public.network.public_subnets is True
    assert public.network.private_egress is False
    assert public.compute.profile.public_subnets is True


# --- PRIVATE_WITH_NAT -------------------------------------------------------------------------


def test_nat_mode_has_one_nat_gateway_per_az(nat: Synth) -> None:
    azs = len(nat.network.vpc.availability_zones)
    assert azs == 2
    nat.template.resource_count_is("AWS::EC2::NatGateway", azs)
    nat.template.resource_count_is("AWS::EC2::VPCEndpoint", 0)


def test_nat_mode_places_compute_in_private_subnets(nat: Synth) -> None:
    subnets = nat.compute_subnets()
    assert len(subnets) == 2
    assert {_tag(s, "aws-cdk:subnet-type") for s in subnets} == {"Private"}
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)
    # Their default route goes through a NAT gateway.
    routes = [
        r["Properties"] for r in nat.of_type("AWS::EC2::Route").values() if "NatGatewayId" in r["Properties"]
    ]
    assert len(routes) == 2


def test_nat_mode_properties(nat: Synth) -> None:
    assert nat.network.public_subnets is False
    assert nat.network.private_egress is True


# --- PRIVATE_WITH_ENDPOINTS -------------------------------------------------------------------


def test_endpoints_mode_has_no_nat_and_isolated_compute(endpoints: Synth) -> None:
    endpoints.template.resource_count_is("AWS::EC2::NatGateway", 0)
    endpoints.template.resource_count_is("AWS::EC2::InternetGateway", 0)
    subnets = endpoints.compute_subnets()
    assert len(subnets) == 2
    assert {_tag(s, "aws-cdk:subnet-type") for s in subnets} == {"Isolated"}


def test_endpoints_mode_creates_s3_gateway_endpoint(endpoints: Synth) -> None:
    gateways = [
        e["Properties"]
        for e in endpoints.of_type("AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Gateway"
    ]
    assert len(gateways) == 1
    assert _service_suffix(gateways[0]["ServiceName"]) == "s3"
    assert gateways[0]["RouteTableIds"], "the S3 endpoint must be routed from the compute subnets"


def test_endpoints_mode_creates_the_seven_interface_endpoints(endpoints: Synth) -> None:
    interfaces = [
        e["Properties"]
        for e in endpoints.of_type("AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    ]
    services = {_service_suffix(e["ServiceName"]) for e in interfaces}
    assert services == INTERFACE_SERVICES
    assert len(interfaces) == 7
    assert all(e["PrivateDnsEnabled"] is True for e in interfaces)
    compute_subnets = endpoints.resources[endpoints.logical_id(endpoints.compute.resource)]["Properties"][
        "ComputeResources"
    ]["Subnets"]
    assert all(e["SubnetIds"] == compute_subnets for e in interfaces)


def _endpoint_security_group(endpoints: Synth) -> ec2.SecurityGroup:
    sg = endpoints.network.node.find_child("EndpointSecurityGroup")
    assert isinstance(sg, ec2.SecurityGroup)
    return sg


def test_endpoint_security_group_allows_443_from_compute_sg(endpoints: Synth) -> None:
    sg = _endpoint_security_group(endpoints)
    interfaces = endpoints.of_type("AWS::EC2::VPCEndpoint").values()
    sg_ref = endpoints.stack.resolve(sg.security_group_id)
    assert all(
        e["Properties"]["SecurityGroupIds"] == [sg_ref]
        for e in interfaces
        if e["Properties"]["VpcEndpointType"] == "Interface"
    )
    compute_sg = endpoints.stack.resolve(endpoints.network.security_group.security_group_id)
    from_compute = [r for r in _ingress_rules(endpoints, sg) if r.get("SourceSecurityGroupId") == compute_sg]
    assert len(from_compute) == 1
    assert from_compute[0]["IpProtocol"] == "tcp"
    assert (from_compute[0]["FromPort"], from_compute[0]["ToPort"]) == (443, 443)


def test_endpoint_security_group_allows_nothing_but_compute_sg(endpoints: Synth) -> None:
    # InterfaceVpcEndpoint defaults to open=True, which would add "443 from the VPC CIDR".
    compute_sg = endpoints.stack.resolve(endpoints.network.security_group.security_group_id)
    rules = _ingress_rules(endpoints, _endpoint_security_group(endpoints))
    assert [r.get("SourceSecurityGroupId") for r in rules] == [compute_sg]


def test_endpoints_mode_properties(endpoints: Synth) -> None:
    assert endpoints.network.public_subnets is False
    assert endpoints.network.private_egress is True


# --- a given VPC ------------------------------------------------------------------------------


def test_given_vpc_is_used_and_no_vpc_is_created(given: GivenVpc) -> None:
    synth = given.synth
    synth.template.resource_count_is("AWS::EC2::VPC", 1)
    vpc_ref = synth.stack.resolve(given.vpc.vpc_id)
    assert synth.network.vpc is given.vpc
    for net in (synth.network, given.private):
        sg = synth.resources[synth.logical_id(net.security_group)]["Properties"]
        assert sg["VpcId"] == vpc_ref
    # Nothing else is added to a given VPC: no flow log, no extra NAT gateways.
    synth.template.resource_count_is("AWS::EC2::FlowLog", 0)
    synth.template.resource_count_is("AWS::EC2::NatGateway", 1)


def test_given_vpc_mode_selects_its_subnets(given: GivenVpc) -> None:
    synth = given.synth
    public_ids = synth.stack.resolve([s.subnet_id for s in given.vpc.public_subnets])
    private_ids = synth.stack.resolve([s.subnet_id for s in given.vpc.private_subnets])
    compute = synth.resources[synth.logical_id(synth.compute.resource)]["Properties"]["ComputeResources"]
    assert compute["Subnets"] == public_ids
    synth.template.has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {"ComputeResources": Match.object_like({"Type": "FARGATE", "Subnets": private_ids})},
    )
    assert given.private.public_subnets is False
    assert given.private.private_egress is True
    assert synth.network.public_subnets is True
    assert synth.network.private_egress is False


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("max_azs", [0, 7])
def test_rejects_max_azs_out_of_range(max_azs: int) -> None:
    with pytest.raises(ValueError, match=rf"max_azs={max_azs} is invalid: must be between 1 and 6"):
        network(new_stack(), max_azs=max_azs)
