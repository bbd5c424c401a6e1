"""Errors a user can fix; the CLI prints them as one line and exits non-zero."""


class UserError(Exception):
    exit_code = 2
