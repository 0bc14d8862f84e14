"""IAM policy building blocks (awacs), shared by products and the bootstrap stack."""
