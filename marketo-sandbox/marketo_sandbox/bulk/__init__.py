"""Bulk extract and import jobs (``routes/bulk_export.py``, ``routes/bulk_import.py``).

- ``csvfile``: how Marketo writes bulk files (``null`` for empty cells, JSON cells, quirks).
- ``dates``: the date-range filters every bulk extract shares.
- ``worker``: a background thread that advances jobs on the sandbox clock.
- ``export_kinds``: the rows each export kind selects from the store, and its columns.
- ``exports`` / ``imports``: the export job queue (and where files are written) and the
  import batch queue, which applies rows through ``domain``.
"""
