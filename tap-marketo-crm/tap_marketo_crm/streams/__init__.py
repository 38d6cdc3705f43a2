"""The tap's streams, one module per Marketo resource: ``leads``, ``activities``,
``custom_objects``, ``crm_objects`` (companies, sales persons, opportunities, roles),
``programs``, ``lists``, ``campaigns``; ``base`` and ``exported`` are their base classes."""
