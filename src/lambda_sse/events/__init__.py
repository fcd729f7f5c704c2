"""lambda_sse.events"""
