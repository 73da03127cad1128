"""`python -m bench`: what users pay for, measured against baselines taken in the same run.

Each function folder (and the shared layer) is a Lambda package root whose modules are top-level,
as in Lambda and under pytest, so the bench puts them on the import path before anything imports them.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_FOLDERS = [
    ROOT / "functions" / "shared",
    ROOT / "functions" / "math_durable",
    ROOT / "functions" / "api",
]

for folder in reversed(FUNCTION_FOLDERS):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

# Every process the bench measures logs at the same level, so no side pays for logging the other skips.
LOG_ENVIRONMENT = {"POWERTOOLS_LOG_LEVEL": "WARNING"}
os.environ.update(LOG_ENVIRONMENT)
