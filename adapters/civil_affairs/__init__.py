"""Civil affairs (民政局): deaths registered (死亡登记, from funeral and hospital reports)."""

from adapters.civil_affairs._adapter import CivilAffairsAdapter, create_adapter

__all__ = ["CivilAffairsAdapter", "create_adapter"]
