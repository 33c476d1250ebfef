from datetime import datetime

from ninja import Field, Schema

from billtone.core.schemas import ShownOnce


class BillingProfileOut(Schema):
    company_name: str
    address_line1: str
    address_line2: str
    city: str
    postal_code: str
    region: str
    country: str = Field(description="ISO 3166-1 alpha-2, empty when no address is set")
    currency: str = Field(description="ISO 4217")
    timezone: str = Field(description="IANA time zone")
    billing_email: str
    tax_id: str
    updated_at: datetime


class BillingProfileIn(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "company_name": "Acme Telecom GmbH",
                    "billing_email": "billing@acme.example",
                    "currency": "EUR",
                    "timezone": "Europe/Berlin",
                    "address_line1": "Friedrichstraße 68",
                    "city": "Berlin",
                    "postal_code": "10117",
                    "country": "DE",
                    "tax_id": "DE136695976",
                }
            ]
        }
    }

    company_name: str = Field(max_length=200)
    billing_email: str = Field(max_length=254)
    currency: str = Field(max_length=3, description="one of the operator's currencies")
    timezone: str = Field(max_length=64, description="IANA time zone, e.g. Europe/Berlin")
    address_line1: str = Field("", max_length=200)
    address_line2: str = Field("", max_length=200)
    city: str = Field("", max_length=100)
    postal_code: str = Field(
        "",
        max_length=20,
        description="checked against the country's format (Google's address data); "
        "stored as it writes it, e.g. E1 6AN",
    )
    region: str = Field(
        "", max_length=100, description="required where the country has one (a US state)"
    )
    country: str = Field("", max_length=2, description="ISO 3166-1 alpha-2")
    tax_id: str = Field(
        "",
        max_length=40,
        description="VAT ID: an EU or UK one must carry the country's prefix (EL for "
        "Greece; XI only for a GB address with a BT postcode); without a prefix the "
        "country's is added",
    )


class ApiTokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def resolve_created_by(obj) -> str:
        return obj.user.get_username()


class ApiTokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)


class ApiTokenCreated(ApiTokenOut):
    secret: ShownOnce = Field(description="shown once: store it now")


class AccountOut(Schema):
    id: int
    name: str
    currency: str
    billing_email: str
    created_at: datetime

    @staticmethod
    def resolve_currency(obj) -> str:
        return obj.billing_profile.currency

    @staticmethod
    def resolve_billing_email(obj) -> str:
        return obj.billing_profile.billing_email
