"""Lambda runtime code: plain Python, no CDK imports. Shipped inside the wheel."""
