from django.apps import AppConfig


class RatingConfig(AppConfig):
    name = "billtone.rating"
    label = "rating"
    verbose_name = "Calls and call credit"
