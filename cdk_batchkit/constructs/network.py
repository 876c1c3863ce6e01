"""Networking for Batch compute: use a given VPC or create one with zero idle cost."""

from __future__ import annotations

from enum import Enum

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from ._validation import check_range, node_of
from .encryption import KeyUser, encryption_key


class NetworkMode(Enum):
    """Where Batch puts instances and Fargate tasks, and how they reach AWS APIs and registries.

    Idle cost is what the network costs per month with no job running (us-east-1, 2 AZs).
    """

    #: Public subnets, no NAT, no endpoints; security groups allow no inbound traffic and
    #: instances require IMDSv2. Jobs need a public IP to pull images (EC2 instances get
    #: one automatically; Fargate jobs bound to such a queue get ``assignPublicIp`` enabled).
    #: Idle cost: $0.
    PUBLIC = "public"
    #: Private subnets with one NAT gateway per AZ. Idle cost: about $36.50 per AZ per month (NAT gateway
    #: $32.85 plus its Elastic IP's public IPv4 $3.65; data processing extra); $73.00 for the default 2 AZs.
    PRIVATE_WITH_NAT = "private-with-nat"
    #: Isolated private subnets reaching AWS through VPC endpoints only (S3 gateway endpoint, free;
    #: interface endpoints for ECR api/dkr, CloudWatch Logs, ECS, ECS agent and telemetry, STS).
    #: Images must come from ECR. Idle cost: about $7.30 per endpoint per AZ per month; $102.20
    #: for the 7 interface endpoints in the default 2 AZs.
    PRIVATE_WITH_ENDPOINTS = "private-with-endpoints"


_INTERFACE_ENDPOINTS = (
    ("EcrApi", ec2.InterfaceVpcEndpointAwsService.ECR),
    ("EcrDocker", ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER),
    ("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS),
    ("Ecs", ec2.InterfaceVpcEndpointAwsService.ECS),
    ("EcsAgent", ec2.InterfaceVpcEndpointAwsService.ECS_AGENT),
    ("EcsTelemetry", ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY),
    ("Sts", ec2.InterfaceVpcEndpointAwsService.STS),
)


class BatchNetwork(Construct):
    """A VPC, subnets and a security group for Batch compute environments.

    Pass it as ``network=`` to the compute environment constructs; the job/queue fit check
    reads :attr:`public_subnets` and :attr:`private_egress` from it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc | None = None,
        mode: NetworkMode = NetworkMode.PUBLIC,
        max_azs: int = 2,
        cidr: str = "10.0.0.0/16",
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        """
        :param vpc: an existing VPC to place compute in. Default: a new VPC laid out for ``mode``.
            With a given VPC, ``mode`` selects its subnets (public, private with egress, or isolated)
            and nothing else is created in it except the security group (and, for
            PRIVATE_WITH_ENDPOINTS, the endpoints).
        :param mode: Default: ``NetworkMode.PUBLIC`` (zero idle cost).
        :param max_azs: Availability zones of a new VPC (1-6). Default: 2.
        :param cidr: CIDR block of a new VPC. Default: 10.0.0.0/16.
        :param flow_log_retention: Retention of the flow log a new VPC writes to CloudWatch Logs
            (pay per GB ingested; no idle cost). Default: one month.
        """
        super().__init__(scope, construct_id)
        check_range(self, "max_azs", max_azs, 1, 6)
        self.mode = mode
        subnet_type = {
            NetworkMode.PUBLIC: ec2.SubnetType.PUBLIC,
            NetworkMode.PRIVATE_WITH_NAT: ec2.SubnetType.PRIVATE_WITH_EGRESS,
            NetworkMode.PRIVATE_WITH_ENDPOINTS: ec2.SubnetType.PRIVATE_ISOLATED,
        }[mode]
        if vpc is None:
            subnets = [
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=20)
            ]
            if mode is not NetworkMode.PUBLIC:
                subnets.append(ec2.SubnetConfiguration(name="Compute", subnet_type=subnet_type, cidr_mask=18))
            if mode is NetworkMode.PRIVATE_WITH_ENDPOINTS:
                subnets = subnets[1:]
            new_vpc = ec2.Vpc(
                self,
                "Vpc",
                ip_addresses=ec2.IpAddresses.cidr(cidr),
                max_azs=max_azs,
                nat_gateways=max_azs if mode is NetworkMode.PRIVATE_WITH_NAT else 0,
                subnet_configuration=subnets,
                # The default SG is unused by these constructs; restricting it needs a
                # Lambda-backed custom resource, which we avoid.
                restrict_default_security_group=False,
            )
            new_vpc.add_flow_log(
                "FlowLog",
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                    logs.LogGroup(
                        self,
                        "FlowLogGroup",
                        retention=flow_log_retention,
                        removal_policy=RemovalPolicy.DESTROY,
                        encryption_key=encryption_key(self, KeyUser.LOGS),
                    )
                ),
                traffic_type=ec2.FlowLogTrafficType.REJECT,
            )
            vpc = new_vpc
        self.vpc: ec2.IVpc = vpc
        self.subnet_selection = ec2.SubnetSelection(subnet_type=subnet_type)
        #: Shared by the compute environments placed in this network: no inbound rules.
        self.security_group = ec2.SecurityGroup(
            self,
            "ComputeSecurityGroup",
            vpc=vpc,
            description="Batch compute: no inbound, all outbound",
            allow_all_outbound=True,
        )
        self._cluster_security_group: ec2.SecurityGroup | None = None
        self._endpoint_security_group: ec2.SecurityGroup | None = None
        if mode is NetworkMode.PRIVATE_WITH_ENDPOINTS:
            self._add_endpoints()

    @property
    def cluster_security_group(self) -> ec2.SecurityGroup:
        """A security group that allows all traffic between its members, for environments that run
        multi-node parallel jobs (``Ec2ComputeEnvironment(multi_node=True)`` adds it next to
        :attr:`security_group`). Created on first use, so a network without multi-node environments has
        no inbound rule at all.

        The nodes of a multi-node job talk to each other over their private IPs and their network
        interfaces carry the environment's security groups:
        https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html
        """
        if self._cluster_security_group is None:
            sg = ec2.SecurityGroup(
                self,
                "ClusterSecurityGroup",
                vpc=self.vpc,
                description="Batch multi-node jobs: all traffic between members, all outbound",
                allow_all_outbound=True,
            )
            # Self-referencing: only members reach members (a separate ingress resource).
            sg.add_ingress_rule(sg, ec2.Port.all_traffic(), "Nodes of multi-node parallel jobs")
            self._cluster_security_group = sg
        return self._cluster_security_group

    @property
    def public_subnets(self) -> bool:
        """True when compute lands in public subnets (jobs need a public IP to reach the internet)."""
        return self.mode is NetworkMode.PUBLIC

    @property
    def private_egress(self) -> bool:
        """True when a task without a public IP can still pull images (NAT or ECR endpoints)."""
        return self.mode is not NetworkMode.PUBLIC

    @property
    def internet(self) -> bool:
        """True when tasks reach the internet (a public IP or NAT); False when AWS is reached through VPC
        endpoints only (then images must come from ECR)."""
        return self.mode is not NetworkMode.PRIVATE_WITH_ENDPOINTS

    def add_interface_endpoint(
        self, name: str, service: ec2.InterfaceVpcEndpointAwsService
    ) -> ec2.InterfaceVpcEndpoint | None:
        """Add the interface endpoint ``service`` (construct id ``<name>Endpoint``) reachable on 443 from
        the compute security group; once per network (later calls return the same endpoint). Only on
        PRIVATE_WITH_ENDPOINTS (other modes reach AWS over the internet or NAT): None otherwise.

        Each interface endpoint costs about $7.30 per AZ per month (us-east-1).
        """
        if self.mode is not NetworkMode.PRIVATE_WITH_ENDPOINTS:
            return None
        existing = node_of(self).try_find_child(f"{name}Endpoint")
        if isinstance(existing, ec2.InterfaceVpcEndpoint):
            return existing
        assert self._endpoint_security_group is not None
        return ec2.InterfaceVpcEndpoint(
            self,
            f"{name}Endpoint",
            vpc=self.vpc,
            service=service,
            subnets=self.subnet_selection,
            security_groups=[self._endpoint_security_group],
            private_dns_enabled=True,
            # Not open to the whole VPC CIDR: only the compute security group (rule above).
            open=False,
        )

    def _add_endpoints(self) -> None:
        ec2.GatewayVpcEndpoint(self, "S3Endpoint", vpc=self.vpc, service=ec2.GatewayVpcEndpointAwsService.S3)
        endpoint_sg = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="HTTPS from Batch compute to VPC endpoints",
            # A separate ingress resource: cdk-nag cannot evaluate an inline rule whose source is a token.
            disable_inline_rules=True,
        )
        endpoint_sg.add_ingress_rule(self.security_group, ec2.Port.tcp(443), "Batch compute")
        self._endpoint_security_group = endpoint_sg
        for name, service in _INTERFACE_ENDPOINTS:
            self.add_interface_endpoint(name, service)
