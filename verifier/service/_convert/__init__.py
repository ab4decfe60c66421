"""Protobuf ↔ the library's models: with the servicer, the only code that touches ``*_pb2``.

Requests become an ``Application`` and a ``CallerIdentity`` (raising ``InvalidApplication``
with field paths in the proto's field names, relative to ``VerifyRequest``); results and
service items become messages; ``result_from_proto`` turns a response back into a
``VerificationResult`` for Python clients.
"""

from verifier.service._convert._items import (
    description_from_proto,
    description_to_proto,
)
from verifier.service._convert._refusals import (
    permission_denied_status,
    refusal_to_proto,
    refusals_from_error,
)
from verifier.service._convert._requests import (
    application_from_proto,
    application_to_proto,
    batch_error_to_proto,
    caller_from_proto,
    invalid_argument_status,
    verify_request_from_proto,
    violations_from_error,
)
from verifier.service._convert._results import (
    result_from_proto,
    result_to_proto,
)
from verifier.service._convert._wire import (
    date_from_proto,
    date_to_proto,
    datetime_from_proto,
    duration_to_proto,
    enum_map,
    from_wire,
    milliseconds_from_proto,
    timestamp_to_proto,
)

__all__ = [
    "application_from_proto",
    "application_to_proto",
    "batch_error_to_proto",
    "caller_from_proto",
    "date_from_proto",
    "date_to_proto",
    "datetime_from_proto",
    "description_from_proto",
    "description_to_proto",
    "duration_to_proto",
    "enum_map",
    "from_wire",
    "invalid_argument_status",
    "milliseconds_from_proto",
    "permission_denied_status",
    "refusal_to_proto",
    "refusals_from_error",
    "result_from_proto",
    "result_to_proto",
    "timestamp_to_proto",
    "verify_request_from_proto",
    "violations_from_error",
]
