"""The function's one Logger, Tracer and Metrics, shared by the handler, the routes and the problems.

One Metrics object matters: its namespace is set from the settings on each invocation, and every
metric any module adds must go out with it.
"""

from aws_lambda_powertools import Logger, Metrics

from tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
