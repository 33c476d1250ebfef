"""Bearer-token authentication for the API: customer tokens and operator tokens."""

from dataclasses import dataclass

from django.http import HttpRequest
from ninja.security import HttpBearer

from billtone.accounts.models import Account, ApiToken, Membership
from billtone.accounts.selectors import api_token_from_secret, token_membership
from billtone.accounts.services import api_token_touch
from billtone.core.errors import PermissionDenied
from billtone.core.services import Actor


@dataclass(frozen=True)
class CustomerPrincipal:
    token: ApiToken
    membership: Membership

    @property
    def account(self) -> Account:
        return self.membership.account

    @property
    def actor(self) -> Actor:
        return Actor(
            label=f"{self.membership.user.get_username()} (API token {self.token.prefix})",
            user_id=self.membership.user_id,
        )

    @property
    def idempotency_scope(self) -> str:
        """Whose Idempotency-Keys these are: the account and the user acting in it."""
        return f"account:{self.membership.account_id}:user:{self.membership.user_id}"


@dataclass(frozen=True)
class OperatorPrincipal:
    token: ApiToken

    @property
    def actor(self) -> Actor:
        return Actor(
            label=f"{self.token.user.get_username()} (operator token {self.token.prefix})",
            user_id=self.token.user_id,
        )

    @property
    def idempotency_scope(self) -> str:
        return f"operator:user:{self.token.user_id}"


class CustomerTokenAuth(HttpBearer):
    """A customer account's token, acting with its member's billing rights."""

    def authenticate(self, request: HttpRequest, token: str) -> CustomerPrincipal | None:
        api_token = api_token_from_secret(token)
        if api_token is None:
            return None
        if api_token.is_operator:
            raise PermissionDenied("This route is for customer account tokens.")
        membership = token_membership(api_token)
        if membership is None:
            return None
        if not membership.can_bill:
            raise PermissionDenied(
                "Only the account's owners and billing admins may use the billing API."
            )
        api_token_touch(token=api_token)
        return CustomerPrincipal(token=api_token, membership=membership)


class OperatorTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> OperatorPrincipal | None:
        api_token = api_token_from_secret(token)
        if api_token is None:
            return None
        if not api_token.is_operator:
            raise PermissionDenied("This route is for operator tokens.")
        api_token_touch(token=api_token)
        return OperatorPrincipal(token=api_token)
