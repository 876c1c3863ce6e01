"""The AWS managed policies cdk-batchkit (and the aws-cdk-lib constructs it uses) attach, at the path AWS
publishes each one under: ``arn:<partition>:iam::aws:policy/<PATH>``.

A managed policy ARN with a wrong path (``service-role/`` where AWS publishes the policy at the root, or the
reverse) is a policy that does not exist: CloudFormation fails to create the role. BK-G1 checks every
``ManagedPolicyArns`` entry of the synthesized templates against this list; a policy the library starts to
attach must be verified and added here first.

Each entry was checked against two sources:

* AWS's managed policy reference, one page per policy with its ARN:
  ``https://docs.aws.amazon.com/aws-managed-policy/latest/reference/<NAME>.html``;
* the public mirror of every AWS managed policy in https://github.com/iann0036/iam-dataset (files
  ``aws/managedpolicies/<NAME>.json``, field ``arn``), at commit
  2073fa52ac008a45477aa0b1b4580cd99135bf60 (2026-08-22), read offline on 2026-12-07.
"""

from __future__ import annotations

#: PATH (as in ``arn:aws:iam::aws:policy/PATH``) of every AWS managed policy the library may render.
AWS_MANAGED_POLICIES: frozenset[str] = frozenset(
    {
        # The ECS instance role of Batch's EC2 instances (the aws_batch L2's default instance role).
        "service-role/AmazonEC2ContainerServiceforEC2Role",
        # The Spot Fleet role of BEST_FIT Spot environments.
        "service-role/AmazonEC2SpotFleetTaggingRole",
        # ECS Managed Instances: both at the root path, not service-role/ (aws-cdk's deployed integ test
        # integ-managedinstances-capacity-provider attaches them there too).
        "AmazonECSInfrastructureRolePolicyForManagedInstances",
        "AmazonECSInstanceRolePolicyForManagedInstances",
        # Batch on EKS: the node role.
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
        # aws-cdk-lib's own Lambda-backed custom resources and providers.
        "service-role/AWSLambdaBasicExecutionRole",
        "service-role/AWSLambdaVPCAccessExecutionRole",
        # The Batch service role (AWS Batch now uses its service-linked role; listed for user apps).
        "service-role/AWSBatchServiceRole",
        # Session Manager on instances.
        "AmazonSSMManagedInstanceCore",
    }
)
