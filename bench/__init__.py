"""`python -m bench`: what users pay for, measured against baselines taken in the same run.

Each function folder (and the shared layer) is a Lambda package root whose modules are top-level,
as in Lambda and under pytest: `make bench` puts them on PYTHONPATH, which every process the bench
starts inherits.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Every process the bench measures logs at the same level, so no side pays for logging the other skips.
LOG_ENVIRONMENT = {"POWERTOOLS_LOG_LEVEL": "WARNING"}
os.environ.update(LOG_ENVIRONMENT)
