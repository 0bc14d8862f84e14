"""Studio Catalog Factory: Service Catalog products for Amazon SageMaker Studio."""

__version__ = "0.1.0"
