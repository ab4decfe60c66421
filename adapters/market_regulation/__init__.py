"""Market regulation (市场监督管理局, business registration): businesses a person runs."""

from adapters.market_regulation._adapter import MarketRegulationAdapter, create_adapter

__all__ = ["MarketRegulationAdapter", "create_adapter"]
