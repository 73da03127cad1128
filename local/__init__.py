"""The embedded local runtime: a Lambda endpoint hosting the durable function and an API endpoint.

The functions' shared layer (functions/shared) goes on the import path here, once, for every
local module and every function the runtime hosts, as Lambda puts a layer's `python/` folder on
it. Each function's own folder is added by function_loader when its handler is loaded.
"""

import sys
from pathlib import Path

SHARED_LAYER = str(Path(__file__).resolve().parent.parent / "functions" / "shared")
if SHARED_LAYER not in sys.path:
    sys.path.append(SHARED_LAYER)
