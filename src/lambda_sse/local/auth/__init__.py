"""Who may call: Function URL IAM auth and CORS, REST API keys and Lambda authorizers.

Sans-IO cores (``cors``, ``apikeys``, ``authorizers``, ``iam``) and one async shell (``guard``)
that the front doors call before they invoke a function.
"""
