from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from billtone.core.problems import CONTENT_TYPE, problem_response


class ApiMethodNotAllowedMiddleware:
    """Ninja answers a wrong method on a known API path with a plain-text 405; give it the
    API's one error shape (problem+json), keeping the Allow header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 405
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith(CONTENT_TYPE)
        ):
            allowed = response.get("Allow", "")
            problem = problem_response(
                status=405,
                slug="method-not-allowed",
                title="Method not allowed",
                detail=f"{request.method} is not allowed here. Allowed: {allowed}.",
                instance=request.path,
            )
            if allowed:
                problem["Allow"] = allowed
            return problem
        return response
