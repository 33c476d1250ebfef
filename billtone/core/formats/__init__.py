"""Django's format overrides (FORMAT_MODULE_PATH): how a date or a time is shown wherever a
template or the back office prints one without a format of its own."""
