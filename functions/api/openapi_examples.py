"""The spec's example documents: the original pattern's three flows, as the API answers them."""

from typing import Any

from calculation_facts import result_document
from models import Links

# The original pattern's three flows: summary, input, and the document the function ends with.
FLOWS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "tenAndFive": (
        "10 and 5: every operation succeeds",
        {"num1": 10, "num2": 5},
        result_document({"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}, {}),
    ),
    "divisionByZero": (
        "10 and 0: Division fails, the others succeed",
        {"num1": 10, "num2": 0},
        result_document({"Add": 10, "Subtract": 10, "Multiply": 0}, {"Division": "division by zero"}),
    ),
    "noNumbers": (
        "No numbers: both are 0, so Division fails",
        {},
        result_document({"Add": 0, "Subtract": 0, "Multiply": 0}, {"Division": "division by zero"}),
    ),
}

REQUEST_EXAMPLES = {name: {"summary": summary, "value": body} for name, (summary, body, _) in FLOWS.items()}
RESULT_EXAMPLES = {
    name: {"summary": summary, "value": document} for name, (summary, _, document) in FLOWS.items()
}
CALCULATION_EXAMPLES = {
    "succeeded": {
        "summary": FLOWS["tenAndFive"][0],
        "value": {
            "id": "c0ffee",
            "status": "SUCCEEDED",
            "input": {"num1": 10, "num2": 5},
            "startedAt": "2025-12-01T12:00:00Z",
            "endedAt": "2025-12-01T12:00:01Z",
            "result": FLOWS["tenAndFive"][2],
            "links": Links.of("c0ffee").document(),
        },
    },
    "operationFailed": {
        "summary": FLOWS["divisionByZero"][0],
        "value": {
            "id": "d1v1de",
            "status": "FAILED",
            "input": {"num1": 10, "num2": 0},
            "startedAt": "2025-12-01T12:00:00Z",
            "endedAt": "2025-12-01T12:00:01Z",
            "failedOperations": [{"operation": "Division", "message": "division by zero"}],
            "partialResults": {"Add": 10, "Subtract": 10, "Multiply": 0},
            "links": Links.of("d1v1de").document(),
        },
    },
}
