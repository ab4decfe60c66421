"""Vehicle registration (车辆管理所, traffic police): motor vehicles owned by a person."""

from adapters.vehicle_registration._adapter import VehicleRegistrationAdapter, create_adapter

__all__ = ["VehicleRegistrationAdapter", "create_adapter"]
