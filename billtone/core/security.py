"""django-axes (login throttling) in the back office: its tables under a "Security" heading,
where staff unlock a user by deleting the user's access attempts."""

from axes.apps import AppConfig as AxesConfig


class SecurityConfig(AxesConfig):
    verbose_name = "Security"
