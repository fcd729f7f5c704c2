"""The local emulator behind ``lambda-sse dev``: Runtime API, execution environments, front doors.

Needs the ``local`` extra (``pip install 'lambda-sse[local]'``).
"""
