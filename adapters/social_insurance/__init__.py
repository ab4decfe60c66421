"""Social insurance (社会保险基金管理局): contribution months and enrolment."""

from adapters.social_insurance._adapter import SocialInsuranceAdapter, create_adapter

__all__ = ["SocialInsuranceAdapter", "create_adapter"]
