"""The function side: a Lambda runtime loop for Python that streams (standard library only)."""
