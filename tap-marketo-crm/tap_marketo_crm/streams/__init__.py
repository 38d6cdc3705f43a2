"""Streams, grouped by how Marketo lets them be read: ``bulk`` (bulk extract),
``by_key`` (REST reads by key only), ``assets`` (asset browse, programs and members,
campaigns), ``lists`` and ``activity_feed`` (REST activity reads that drive the others)."""
