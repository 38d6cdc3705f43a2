"""Marketo's data model as the sandbox describes it: fields, object types, activity types."""
