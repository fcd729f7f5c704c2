"""Facts about AWS that the runtime, the bridge and the emulator share: one definition each.

Plain constants, each with the page it comes from. Standard library only and nothing but
assignments, so the runtime can import it at every cold start for free. Where AWS's docs round a
figure ("6 MB") and AWS's own code states the exact number, the exact number is used and both
are cited. Modules that had these constants before keep their old names as re-exports.
"""

from __future__ import annotations

# -- Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) ----------------

RUNTIME_API_PREFIX = "/2018-06-01/runtime"
ERROR_CONTENT_TYPE = "application/vnd.aws.lambda.error+json"
# Headers of GET /next's reply; each is sent only when it has a value.
REQUEST_ID_HEADER = "Lambda-Runtime-Aws-Request-Id"
DEADLINE_HEADER = "Lambda-Runtime-Deadline-Ms"
FUNCTION_ARN_HEADER = "Lambda-Runtime-Invoked-Function-Arn"
TRACE_ID_HEADER = "Lambda-Runtime-Trace-Id"
CLIENT_CONTEXT_HEADER = "Lambda-Runtime-Client-Context"
COGNITO_IDENTITY_HEADER = "Lambda-Runtime-Cognito-Identity"
TENANT_ID_HEADER = "Lambda-Runtime-Aws-Tenant-Id"
# One attempt of a request on Lambda Managed Instances; runtimes echo it on their answer
# (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html#runtimes-custom-managed-instances).
INVOCATION_ID_HEADER = "Lambda-Runtime-Invocation-Id"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
# The X-Ray cause of an invocation error, sent only below 1 MiB, as AWS's Python runtime client
# does (https://github.com/aws/aws-lambda-python-runtime-interface-client, lambda_runtime_client).
XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
XRAY_CAUSE_LIMIT = 1024 * 1024

# -- Response streaming
# (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html#runtimes-custom-response-streaming)

RESPONSE_MODE_HEADER = "Lambda-Runtime-Function-Response-Mode"  # its one valid value: "streaming"
TRAILER_ERROR_TYPE = ERROR_TYPE_HEADER
TRAILER_ERROR_BODY = "Lambda-Runtime-Function-Error-Body"  # base64 of the error document
STREAM_DEFAULT_CONTENT_TYPE = "application/octet-stream"
# The HTTP integration prelude: JSON metadata, eight NUL bytes, then the body. API Gateway needs
# the separator within the first 16 KB
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html).
PRELUDE_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_SEPARATOR = b"\x00" * 8
PRELUDE_LIMIT = 16 * 1024
# A streamed response may be up to 200 MB
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html).
STREAM_RESPONSE_LIMIT = 200 * 1024 * 1024

# -- Payload sizes (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html:
# "6 MB each for request and response (synchronous)") --------------------------------------------

# The largest buffered response the Runtime API accepts on POST /response (413 above), and the
# figure Lambda's Function.ResponseSizeTooLarge message quotes: 6 MiB + 100 bytes. AWS's Runtime
# Interface Emulator: ``MaxPayloadSize = 6*1024*1024 + 100`` in lambda/interop/model.go
# (https://github.com/aws/aws-lambda-runtime-interface-emulator/blob/develop/lambda/interop/model.go).
BUFFERED_LIMIT = 6 * 1024 * 1024 + 100  # 6,291,556 bytes
# The largest synchronous invocation event (request payload): exactly 6 MiB; above it the
# Invoke API answers 413 "Request must be smaller than 6291456 bytes for the InvokeFunction
# operation" (RequestTooLargeException,
# https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
INVOKE_PAYLOAD_LIMIT = 6 * 1024 * 1024  # 6,291,456 bytes
# Request line plus headers of an HTTP invocation.
HEAD_LIMIT = 1024 * 1024

# -- Bandwidth of a streamed response: a token bucket of 6 MiB, then 2 MiB/s, refilled every
# 125 ms (Runtime Interface Emulator, lambda/interop/model.go ResponseBandwidthRate and
# ResponseBandwidthBurstSize; https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html
# "the first 6 MB ... uncapped bandwidth, then 2 MBps") -----------------------------------------

LAMBDA_BURST = 6 * 1024 * 1024
LAMBDA_RATE = 2 * 1024 * 1024  # bytes per second
REFILL_INTERVAL = 0.125  # seconds
# API Gateway REST with transferMode STREAM: the first 10 MB unrestricted, then 2 MB/s, decimal
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html).
APIGW_REST_BURST = 10_000_000
APIGW_REST_RATE = 2_000_000  # bytes per second

# -- Function settings (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html,
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html) -------------------------

MAX_TIMEOUT = 900  # seconds
MIN_MEMORY = 128  # MB
MAX_MEMORY = 10240  # MB
ZIP_LIMIT = 50 * 1024 * 1024  # a .zip uploaded directly
UNZIPPED_LIMIT = 250 * 1024 * 1024  # the function and its layers, unzipped

# -- API Gateway and Function URLs (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html,
# https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html) ------------------------------

REST_PAYLOAD_LIMIT = 10 * 1000 * 1000  # 10 MB request or buffered response
INTEGRATION_TIMEOUT = 29.0  # seconds, REST default
HTTP_API_TIMEOUT = 30.0  # seconds
REGIONAL_IDLE_TIMEOUT = 300.0  # a STREAM REST API, REGIONAL or PRIVATE endpoint
EDGE_IDLE_TIMEOUT = 30.0  # ... an EDGE endpoint
URL_BUFFERED_LIMIT = INVOKE_PAYLOAD_LIMIT  # a Function URL's BUFFERED response, 6 MB
URL_STREAM_LIMIT = STREAM_RESPONSE_LIMIT
# -- Who may call: SigV4, Function URL auth and CORS, API keys, Lambda authorizers -------------

# Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html).
SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
SIGV4_TERMINATOR = "aws4_request"
# "the request must reach AWS within five minutes of the time stamp in the request"
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html).
SIGV4_MAX_SKEW_SECONDS = 300
# Function URLs with AuthType AWS_IAM are signed for the service "lambda" in the function's
# region (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html).
FUNCTION_URL_SERVICE = "lambda"
# A Function URL's answer to a missing or wrong signature
# (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html links it from the message).
FUNCTION_URL_FORBIDDEN = (
    "Forbidden. For troubleshooting Function URL authorization issues, see: "
    "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
)
FUNCTION_URL_FORBIDDEN_TYPE = "AccessDeniedException"
INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."

# Function URL CORS (https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html): MaxAge 0-86400
# seconds, at most 6 methods, AllowCredentials false by default.
CORS_MAX_AGE_LIMIT = 86400
CORS_METHODS = frozenset({"GET", "PUT", "HEAD", "POST", "PATCH", "DELETE", "*"})
# serverless.yml `url.cors: true` (https://www.serverless.com/framework/docs/providers/aws/guide/functions#lambda-function-urls).
SERVERLESS_CORS_HEADERS = (
    "Content-Type",
    "X-Amz-Date",
    "Authorization",
    "X-Api-Key",
    "X-Amz-Security-Token",
)

# API Gateway REST API keys: a missing, unknown or disabled key is 403 {"message": "Forbidden"}
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
API_KEY_HEADER = "x-api-key"
API_KEY_MIN_LENGTH = 20  # CreateApiKey: "value ... at least 20 characters"

# Lambda authorizers
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html,
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html).
AUTHORIZER_DEFAULT_TTL = 300
AUTHORIZER_MAX_TTL = 3600
AUTHORIZER_DEFAULT_IDENTITY = "method.request.header.Authorization"
UNAUTHORIZED_MESSAGE = "Unauthorized"
NOT_AUTHORIZED_MESSAGE = "User is not authorized to access this resource"
EXPLICIT_DENY_MESSAGE = "User is not authorized to access this resource with an explicit deny"

# -- The Lambda Invoke API ---------------------------------------------------------------------
# https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
# https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html

INVOKE_PATH_PREFIX = "/2015-03-31/functions/"  # POST {prefix}{FunctionName}/invocations
STREAM_INVOKE_PATH_PREFIX = "/2021-11-15/functions/"  # .../response-streaming-invocations

# Payload quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
# 6 MB for a synchronous request and response (INVOKE_PAYLOAD_LIMIT, BUFFERED_LIMIT above);
# 1 MB for an asynchronous request since 2025
# (https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb).
ASYNC_PAYLOAD_LIMIT = 1024 * 1024  # 1048576 bytes

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
