"""The embedded local runtime: a Lambda endpoint hosting the durable function and an API endpoint."""
