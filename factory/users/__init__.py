"""People and personas -> a plan -> provisioned user-profile products, through Service Catalog
only (the caller needs the cloud-admin role's permissions, never SageMaker ones)."""
