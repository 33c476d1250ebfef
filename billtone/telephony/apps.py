from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "billtone.telephony"
    label = "telephony"
    verbose_name = "Users and numbers"
