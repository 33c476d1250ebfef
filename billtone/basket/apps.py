from django.apps import AppConfig


class BasketConfig(AppConfig):
    name = "billtone.basket"
    label = "basket"
    verbose_name = "Basket and checkout"
