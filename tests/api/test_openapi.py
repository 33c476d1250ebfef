from . import walker


def test_errors_are_documented_as_problem_json_on_every_operation(client):
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for operation in walker.operations(client):
        responses = operation.spec["responses"]
        expected = {"401", "403"} if operation.schemes else set()
        if operation.parameters("path"):
            expected.add("404")
        if operation.spec.get("parameters") or "requestBody" in operation.spec:
            expected.add("422")
        assert expected <= set(responses), operation.label
        for code, response in responses.items():
            content = response.get("content", {})
            if int(code) >= 400:
                assert content == {"application/problem+json": problem}, (operation.label, code)
            else:
                assert "application/problem+json" not in content, (operation.label, code)


def test_every_post_documents_the_idempotency_key(client):
    posts = [op for op in walker.operations(client) if op.method == "post"]
    assert posts
    for operation in posts:
        headers = {p["name"]: p for p in operation.parameters("header")}
        assert headers["Idempotency-Key"]["required"] is False, operation.label
        assert {"400", "409", "422"} <= set(operation.spec["responses"]), operation.label


def test_every_amount_a_client_sends_says_how_to_write_it(client):
    import json

    from billtone.core.schemas import AMOUNT_NOTATION, AMOUNT_PATTERN

    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    amounts = {}
    for name, schema in schemas.items():
        for field, spec in schema.get("properties", {}).items():
            if json.dumps(AMOUNT_PATTERN) in json.dumps(spec):
                amounts[f"{name}.{field}"] = spec.get("description", "")
    assert {"BankTransferIn.amount", "PaymentIn.amount", "RefundIn.amount"} <= set(amounts)
    for field, description in amounts.items():
        assert AMOUNT_NOTATION in description, field
