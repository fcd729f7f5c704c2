"""AWS facts the project honours: limits and constants, each with its source.

Plain constants, standard library only, cheap to import. Sections by topic.
"""

from __future__ import annotations

# -- The Lambda Invoke API ---------------------------------------------------------------------
# https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
# https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html

INVOKE_PATH_PREFIX = "/2015-03-31/functions/"  # POST {prefix}{FunctionName}/invocations
STREAM_INVOKE_PATH_PREFIX = "/2021-11-15/functions/"  # .../response-streaming-invocations

# Payload quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
# 6 MB for a synchronous request and response; 1 MB for an asynchronous request since 2025
# (https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb).
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # 6291456 bytes
ASYNC_PAYLOAD_LIMIT = 1024 * 1024  # 1048576 bytes
# A buffered function result may be 6 MB plus a small envelope; Lambda's own wording counts
# 6291556 bytes (the Runtime API's limit, RIE internal/lambda/rapi).
RESPONSE_PAYLOAD_LIMIT = 6 * 1024 * 1024 + 100

CLIENT_CONTEXT_LIMIT = 3583  # bytes of base64 (API_Invoke.html, ClientContext)
FUNCTION_NAME_LIMIT = 64  # a bare function name (API_Invoke.html, FunctionName)
FUNCTION_REFERENCE_LIMIT = 170  # a full ARN with qualifier (API_InvokeWithResponseStream.html)
QUALIFIER_LIMIT = 128  # API_Invoke.html, Qualifier
# The FunctionName pattern of API_Invoke.html: ARN prefix, region, account, "function:", name,
# optional qualifier.
FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
    r"([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)

# LogType Tail: "the last 4 KB of the execution log", base64 (API_Invoke.html, LogResult).
TAIL_LOG_BYTES = 4 * 1024

EVENT_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"

# Throttling reasons of TooManyRequestsException (API_Invoke.html, Errors).
THROTTLE_RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"

# -- Asynchronous invocation -------------------------------------------------------------------
# https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
# On a function error Lambda retries twice, "one minute" then "two minutes" later.
ASYNC_RETRY_DELAYS = (60.0, 120.0)
ASYNC_MAX_RETRY_ATTEMPTS = 2  # default and maximum (0-2) of MaximumRetryAttempts
ASYNC_MAX_EVENT_AGE = 21600  # seconds: default and maximum (60-21600) of MaximumEventAgeInSeconds
ASYNC_MIN_EVENT_AGE = 60
# Throttles and system errors are retried with a backoff from 1 second up to 5 minutes, until
# the event is older than MaximumEventAgeInSeconds.
ASYNC_THROTTLE_BACKOFF_MIN = 1.0
ASYNC_THROTTLE_BACKOFF_MAX = 300.0

# -- Function environment ----------------------------------------------------------------------
# botocore and the other AWS SDKs read a service's endpoint from AWS_ENDPOINT_URL_<SERVICE_ID>
# (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
ENDPOINT_URL_LAMBDA = "AWS_ENDPOINT_URL_LAMBDA"

# -- DynamoDB (the dynamodb:// channel backend) ------------------------------------------------
# Item size, names and values included
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items).
DYNAMODB_ITEM_LIMIT = 400 * 1024
# Table names: 3-255 characters of a-z, A-Z, 0-9, "_", "-", "."
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html).
DYNAMODB_TABLE_NAME_MIN = 3
DYNAMODB_TABLE_NAME_MAX = 255
# One read unit reads up to 4 KB strongly consistent (half a unit eventually consistent); one
# write unit writes up to 1 KB
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
DYNAMODB_READ_UNIT_BYTES = 4 * 1024
DYNAMODB_WRITE_UNIT_BYTES = 1024
