"""Bulk extract and bulk import machinery behind ``api/bulk_export.py`` and ``api/bulk_import.py``.

- ``csvfile``: how Marketo writes bulk files (``null`` for empty cells, JSON cells, quirks).
- ``dates``: the date-range filters every bulk extract shares.
- ``worker``: a background thread that advances jobs on the sandbox clock.
- ``export_rows``: the rows each export kind selects from the store.
- ``exports`` / ``imports``: the export job queue and the import batch queue.
"""
