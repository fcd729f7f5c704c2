"""Handler modules the runtime tests run in real runtime subprocesses (never imported by tests).

``LAMBDA_TASK_ROOT`` points here, so each module is imported as a top-level module, as Lambda
imports a function's code from /var/task.
"""
