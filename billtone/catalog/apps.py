from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "billtone.catalog"
    label = "catalog"
    verbose_name = "Catalog"
