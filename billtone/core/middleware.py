from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

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


class OperatorTimeZoneMiddleware:
    """The back office (`/admin/`) in the operator's time zone (BILLTONE_OPERATOR_TIME_ZONE):
    its lists, detail pages and date filters show and read times there, each time with its
    zone named (core/formats). The Billing panel uses the account's zone instead
    (accounts.decorators.billing_required)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(reverse("admin:index")):
            return self.get_response(request)
        with timezone.override(ZoneInfo(settings.BILLTONE_OPERATOR_TIME_ZONE)):
            return self.get_response(request)  # rendered inside: TemplateResponses too
