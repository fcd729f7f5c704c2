"""AWS facts the project emulates or relies on: plain constants, each with its source.

Standard library only and cheap to import. Sections by topic; keep each constant next to the
URL that documents it.
"""

from __future__ import annotations

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
