"""servicebook: a company's customer-service lifecycle as YAML records in git."""

__version__ = "0.1.0"
