"""Singer target writing CRM records back into Adobe Marketo Engage."""

from target_marketo_crm.target import TargetMarketoCRM

__all__ = ["TargetMarketoCRM"]
