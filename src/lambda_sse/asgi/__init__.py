"""lambda_sse.asgi"""
