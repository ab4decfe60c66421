"""Tax bureau (税务局): individual income tax months and overdue tax."""

from adapters.tax._adapter import TaxAdapter, create_adapter

__all__ = ["TaxAdapter", "create_adapter"]
