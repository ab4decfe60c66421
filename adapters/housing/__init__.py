"""Housing and property registration (住房和建设局 / 不动产登记中心): homes and rentals."""

from adapters.housing._adapter import HousingAdapter, create_adapter

__all__ = ["HousingAdapter", "create_adapter"]
