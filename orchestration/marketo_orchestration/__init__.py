"""Dagster definitions for marketo-crm: one Meltano job per Marketo instance."""
