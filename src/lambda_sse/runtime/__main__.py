"""``python -m lambda_sse.runtime [module.function]``: the streaming Lambda runtime loop."""

import sys

from lambda_sse.runtime.loop import main

sys.exit(main())
