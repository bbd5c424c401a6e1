"""Settings of alert delivery (config [alerts], docs/trackers.md): webhooks, the SMTP server,
retries and which private addresses a webhook may reach."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookSettings(_Frozen):
    url: str = Field(pattern=r"^https?://\S+$")
    # The HMAC-SHA256 key of the signature header; set it here or in
    # INTERDICT_ALERTS__WEBHOOKS__<NAME>__SECRET. Never logged.
    secret: str = Field("", repr=False)


class SmtpSettings(_Frozen):
    host: str = ""  # empty: no e-mail
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True  # refuse to send when the server does not offer it
    username: str = ""
    password: str = Field("", repr=False)
    sender: str = "interdict@localhost"
    ca_file: str = ""  # the CA of a server with a private certificate (otherwise the system's)
    timeout: float = Field(30, gt=0)


class AlertSettings(_Frozen):
    webhooks: dict[str, WebhookSettings] = {}
    smtp: SmtpSettings = SmtpSettings()
    # host:port of receivers on loopback or private addresses that webhooks may reach (refused otherwise)
    allow_private_targets: list[str] = []
    attempts: int = Field(6, ge=1, le=50)  # then the delivery goes to the dead letters
    backoff_seconds: float = Field(30, gt=0)  # before the first retry; doubles with each
    timeout: float = Field(10, gt=0)  # per webhook request
    base_url: str = ""  # the web app's address, for links in messages (e.g. https://interdict.example)
