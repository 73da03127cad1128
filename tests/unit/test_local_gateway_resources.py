"""The local API Gateway emulation declares the resources the deployed REST API declares.

It runs apart from the API's code (standard library only), so it lists them itself; this test
holds that list to the route table the API's resolver records from its route decorators.
"""

import app
from local.api_gateway import RESOURCES


def test_the_local_gateway_declares_exactly_the_paths_the_api_resolver_serves():
    # Given the paths the API's route decorators declared
    # Then the local gateway sends exactly those as resources (anything else as /{proxy+})
    assert sorted(RESOURCES) == sorted(app.PATHS)
