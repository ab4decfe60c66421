"""People's courts (人民法院执行局): dishonest judgment debtors (失信被执行人) and consumption
restrictions (限制消费令), by resident ID or unified social credit code."""

from adapters.courts._adapter import CourtsAdapter, create_adapter

__all__ = ["CourtsAdapter", "create_adapter"]
