from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "billtone.notifications"
    label = "notifications"
    verbose_name = "Notifications"
