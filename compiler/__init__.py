"""specops: a declarative GitOps spec compiler for DataOps and MLOps."""

__version__ = "0.1.0"
