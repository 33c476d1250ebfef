# A time always names its zone ("5 Dec 2026, 14:03 CET"): the back office shows times in the
# operator's zone (core.middleware.OperatorTimeZoneMiddleware), customers see the account's.
# Only output formats: what forms accept (the *_INPUT_FORMATS) stays Django's.
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
