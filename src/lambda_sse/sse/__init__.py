"""lambda_sse.sse"""
