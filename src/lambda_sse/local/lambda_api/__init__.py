"""The Lambda Invoke API of ``lambda-sse dev`` (Invoke, InvokeWithResponseStream).

``protocol`` (requests and AWS's answers) and ``names`` (FunctionName resolution) are pure;
``eventstream`` frames the response stream; ``tail`` keeps the last 4 KB of each invocation's
log; ``async_queue`` runs ``Event`` invocations with AWS's retries; ``door`` is the I/O shell
mounted on the REST API's port.
"""
