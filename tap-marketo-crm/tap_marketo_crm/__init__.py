"""tap-marketo-crm: a Singer tap for Adobe Marketo Engage."""
