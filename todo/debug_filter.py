"""What Django's error reports (the DEBUG page, error e-mails) may show of the settings: besides
Django's own masks (KEY, SECRET, TOKEN, PASS, ...), connection URIs, which carry credentials."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class SecretsFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile("API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URI|DSN", flags=re.I)
