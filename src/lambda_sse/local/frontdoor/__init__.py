"""The emulator's front doors: API Gateway REST, Function URLs, HTTP API routes.

Sans-IO cores (``routes``, ``build``, ``replies``) and one I/O shell (``http``: asyncio + h11);
``doors`` puts them together over an :class:`~lambda_sse.local.model.Invoker`.
"""
