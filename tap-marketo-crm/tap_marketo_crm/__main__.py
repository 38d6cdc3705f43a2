"""``python -m tap_marketo_crm``: the tap's command line."""

from tap_marketo_crm.tap import TapMarketoCRM

TapMarketoCRM.cli()
