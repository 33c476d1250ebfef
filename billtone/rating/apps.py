from django.apps import AppConfig


class RatingConfig(AppConfig):
    name = "billtone.rating"
    label = "rating"
    verbose_name = "Calls and call credit"

    def ready(self) -> None:
        # The CDR pages of the back office (the admin module is the rate decks').
        from billtone.rating import cdr_admin  # noqa: F401
