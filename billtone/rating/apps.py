from django.apps import AppConfig


class RatingConfig(AppConfig):
    name = "billtone.rating"
    label = "rating"
    verbose_name = "Calls and call credit"

    def ready(self) -> None:
        # The CDR pages of the back office (the admin module is the rate decks').
        from billtone.notifications.renderers import email_template_register
        from billtone.rating import (  # noqa: F401  (tasks registered)
            cdr_admin,  # noqa: F401
            hold_tasks,  # noqa: F401
            topup_emails,
            topup_tasks,
        )

        email_template_register(topup_emails.TEMPLATE, topup_emails.auto_top_up_email_render)
        # After the ingestion's debit of call credit commits: low-credit email, auto top-up.
        from billtone.rating import hooks
        from billtone.rating.services.topup import calls_debited

        if calls_debited not in hooks.after_debit:
            hooks.after_debit.append(calls_debited)
