"""Household registration (户籍管理, public security bureau): registration and guardianship."""

from adapters.household._adapter import HouseholdAdapter, create_adapter

__all__ = ["HouseholdAdapter", "create_adapter"]
