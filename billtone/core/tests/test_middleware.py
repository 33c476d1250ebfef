def test_wrong_method_on_an_api_path_is_a_405_problem(api):
    response = api.post("/api/v1/billing-profile", {})
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/method-not-allowed")
    assert "PUT" in response["Allow"]
