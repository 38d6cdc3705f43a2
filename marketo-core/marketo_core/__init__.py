"""marketo_core: the one Marketo Engage client shared by the tap, the target and the tests."""

from marketo_core.auth import TokenManager
from marketo_core.bulk import ExportJob
from marketo_core.bulk_import import ImportJob
from marketo_core.client import MarketoClient, encode_params
from marketo_core.csvstream import iter_csv_rows, parse_attributes
from marketo_core.errors import (
    ERROR_ACTIONS,
    Action,
    CallBudgetExhausted,
    DailyQuotaExceeded,
    DownloadIntegrityError,
    ExportFileGone,
    ExportJobFailed,
    ExportJobNotFound,
    ExportJobTimeout,
    ExportQuotaExceeded,
    ImportJobFailed,
    ImportJobTimeout,
    MarketoAPIError,
    MarketoAuthError,
    MarketoError,
    MarketoHTTPError,
    QuotaExhausted,
    Redactor,
    classify,
    is_job_already_queued,
)
from marketo_core.limits import ConcurrencyGate, DailyBudget, RateLimiter
from marketo_core.timeutil import (
    format_marketo_datetime,
    next_quota_reset,
    parse_marketo_datetime,
)

__all__ = [
    "ERROR_ACTIONS",
    "Action",
    "CallBudgetExhausted",
    "ConcurrencyGate",
    "DailyBudget",
    "DailyQuotaExceeded",
    "DownloadIntegrityError",
    "ExportFileGone",
    "ExportJob",
    "ExportJobFailed",
    "ExportJobNotFound",
    "ExportJobTimeout",
    "ExportQuotaExceeded",
    "ImportJob",
    "ImportJobFailed",
    "ImportJobTimeout",
    "MarketoAPIError",
    "MarketoAuthError",
    "MarketoClient",
    "MarketoError",
    "MarketoHTTPError",
    "QuotaExhausted",
    "RateLimiter",
    "Redactor",
    "TokenManager",
    "classify",
    "encode_params",
    "format_marketo_datetime",
    "is_job_already_queued",
    "iter_csv_rows",
    "next_quota_reset",
    "parse_attributes",
    "parse_marketo_datetime",
]
