"""Request and response models of the messages API (``POST /v1/messages`` and the reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from tidings.core.urls import check_webhook_url


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# WhatsApp message templates: the Cloud API's template object (developers.facebook.com/docs/
# whatsapp/cloud-api/reference/messages, "Template object"), checked here so that a malformed one
# is a 422 naming the field rather than a failed send. Names are what Meta allows when a template
# is created: lowercase letters, digits and underscores, at most 512.
TEMPLATE_NAME = r"^[a-z0-9_]{1,512}$"
# Meta's supported languages: "en", "en_US", "pt_BR", "fil", "zh_CN", ...
LANGUAGE_CODE = r"^[a-z]{2,3}(_[A-Z]{2})?$"
HEADER_TEXT_CHARS = 60  # a text header's variable
PARAMETER_TEXT_CHARS = 32_768  # a body variable

ParameterType = Literal["text", "currency", "date_time", "image", "video", "document", "location", "payload"]
ComponentType = Literal["header", "body", "button"]
ButtonType = Literal["quick_reply", "url", "copy_code", "flow", "catalog", "mpm", "voice_call"]

# Which parameter types each component takes.
_COMPONENT_PARAMETERS: dict[str, frozenset[str]] = {
    "header": frozenset({"text", "image", "video", "document", "location"}),
    "body": frozenset({"text", "currency", "date_time"}),
    "button": frozenset({"payload", "text"}),
}


_PARAMETER_VALUES = ("text", "payload", "currency", "date_time", "image", "video", "document", "location")


class TemplateLanguage(Strict):
    code: str = Field(pattern=LANGUAGE_CODE, examples=["en_US"])
    policy: Literal["deterministic"] | None = None


class TemplateMedia(Strict):
    """A header's media: by ``link`` (http or https) or by uploaded ``id``, exactly one."""

    link: str | None = Field(default=None, min_length=1, max_length=2048, pattern=r"^https?://\S+$")
    id: str | None = Field(default=None, min_length=1, max_length=128)
    filename: str | None = Field(default=None, min_length=1, max_length=240)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.link is None) == (self.id is None):
            raise ValueError("give exactly one of `link` or `id`")
        return self


class TemplateCurrency(Strict):
    fallback_value: str = Field(min_length=1, max_length=200)
    code: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")
    amount_1000: int = Field(description="The amount times 1,000")


class TemplateDateTime(Strict):
    fallback_value: str = Field(min_length=1, max_length=200)


class TemplateLocation(Strict):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = Field(default=None, max_length=1000)
    address: str | None = Field(default=None, max_length=1000)


class TemplateParameter(Strict):
    """One variable: ``type`` names the one field that carries its value."""

    type: ParameterType
    parameter_name: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,100}$")
    text: str | None = Field(default=None, min_length=1, max_length=PARAMETER_TEXT_CHARS)
    payload: str | None = Field(default=None, min_length=1, max_length=1000)
    currency: TemplateCurrency | None = None
    date_time: TemplateDateTime | None = None
    image: TemplateMedia | None = None
    video: TemplateMedia | None = None
    document: TemplateMedia | None = None
    location: TemplateLocation | None = None

    @model_validator(mode="after")
    def _value_of_its_type(self) -> Self:
        given = [name for name in _PARAMETER_VALUES if getattr(self, name) is not None]
        if given != [self.type]:
            raise ValueError(f"a {self.type} parameter carries `{self.type}` and no other value")
        media = self.image or self.video
        if media is not None and media.filename is not None:
            raise ValueError("only documents take a `filename`")
        return self


class TemplateComponent(Strict):
    type: ComponentType
    sub_type: ButtonType | None = Field(default=None, description="Buttons only")
    index: int | None = Field(default=None, ge=0, le=9, description="Buttons only: the button's position")
    parameters: list[TemplateParameter] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _fits_its_type(self) -> Self:
        allowed = _COMPONENT_PARAMETERS[self.type]
        for parameter in self.parameters:
            if parameter.type not in allowed:
                raise ValueError(f"a {self.type} component takes {', '.join(sorted(allowed))} parameters")
        if self.type == "button":
            if self.sub_type is None or self.index is None:
                raise ValueError("a button component needs `sub_type` and `index`")
        elif self.sub_type is not None or self.index is not None:
            raise ValueError("only button components take `sub_type` and `index`")
        if self.type == "header":
            if len(self.parameters) > 1:
                raise ValueError("a header component takes one parameter")
            text = self.parameters[0].text if self.parameters else None
            if text is not None and len(text) > HEADER_TEXT_CHARS:
                raise ValueError(f"a header's text is at most {HEADER_TEXT_CHARS} characters")
        return self


class WhatsAppTemplate(Strict):
    """A pre-approved WhatsApp template (the Cloud API template object), sent instead of text."""

    name: str = Field(pattern=TEMPLATE_NAME, examples=["hello_world"])
    language: TemplateLanguage = Field(description='{"code": "en_US"}, or the code alone')
    components: list[TemplateComponent] | None = Field(default=None, max_length=20)

    @field_validator("language", mode="before")
    @classmethod
    def _language_code(cls, value: Any) -> Any:
        return {"code": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_header_and_body(self) -> Self:
        kinds = [c.type for c in self.components or ()]
        for kind in ("header", "body"):
            if kinds.count(kind) > 1:
                raise ValueError(f"a template has at most one {kind} component")
        buttons = [c.index for c in self.components or () if c.type == "button"]
        if len(buttons) != len(set(buttons)):
            raise ValueError("two button components have the same index")
        return self

    def cloud_api_object(self) -> dict[str, Any]:
        """The template as the Cloud API takes it (fields left out stay out)."""
        return self.model_dump(mode="json", exclude_none=True)


class ContactRecipient(Strict):
    """A contact addressed by your id for it and a channel type (see docs/contacts.md); resolved
    at intake to the contact's address of that type."""

    contact: str = Field(min_length=1, max_length=128, description="The contact's external_id")
    # Checked at intake rather than here, so that a wrong value is a 422 naming `to[i].channel_type`
    # (a union member's error would only name `to`).
    channel_type: str = Field(
        max_length=16,
        description="sms, whatsapp, telegram or viber",
        json_schema_extra={"enum": ["sms", "whatsapp", "telegram", "viber"]},
    )


def _address_length(value: str | ContactRecipient) -> str | ContactRecipient:
    # After the union rather than a constraint on its member: a member's error would name the
    # field `messages[0].to.constrained-str`.
    if isinstance(value, str) and not 1 <= len(value) <= MAX_ADDRESS_CHARS:
        raise ValueError(f"an address has 1 to {MAX_ADDRESS_CHARS} characters")
    return value


MAX_ADDRESS_CHARS = 64
# left_to_right: a plain string (nearly every recipient) matches the first member with no
# further work; smart mode tries every member and costs 3x on a 100,000-recipient list.
Recipient = Annotated[
    str | ContactRecipient, Field(union_mode="left_to_right"), AfterValidator(_address_length)
]


class PersonalMessage(Strict):
    to: Recipient
    body: str


class TemplateRecipient(Strict):
    to: Recipient
    vars: dict[str, str | int | float] = Field(default_factory=dict)


class SendMessagesRequest(Strict):
    """One of: ``to`` + ``body``; ``messages``; or ``body`` as a template + ``recipients``."""

    to: Annotated[
        str | list[str] | ContactRecipient | list[str | ContactRecipient] | None,
        Field(union_mode="left_to_right"),
    ] = Field(
        default=None,
        description='One recipient or up to 100,000; each an address or {"contact", "channel_type"}',
        examples=["+27830000000"],
    )
    body: str | None = Field(default=None, description="Text, or a template with {{name}} slots")
    template: WhatsAppTemplate | None = Field(
        default=None,
        description="A WhatsApp template (with `to`): sent instead of the body, which becomes optional",
    )
    messages: list[PersonalMessage] | None = None
    recipients: list[TemplateRecipient] | None = None
    channel: str | None = Field(default=None, description="Channel id or name; default channel if absent")
    from_: str | None = Field(default=None, alias="from", max_length=64)
    send_at: datetime | None = Field(default=None, description="RFC 3339; at most 35 days ahead")
    validity_period: int | None = Field(
        default=None, ge=1, le=35 * 86_400, description="Seconds the message may wait to be sent"
    )
    status_callback: str | None = Field(
        default=None, max_length=2048, description="Also POST this message's events here (http or https)"
    )
    metadata: dict[str, Any] | None = None
    priority: Literal["high", "normal", "bulk"] = "normal"
    default_country: str | None = Field(default=None, min_length=2, max_length=2)

    @field_validator("status_callback")
    @classmethod
    def _callback_url(cls, value: str | None) -> str | None:
        # Checked here, at intake: a bad URL would otherwise fail its deliveries for 24 hours.
        return None if value is None else check_webhook_url(value)


class InvalidRecipient(BaseModel):
    input: str
    reason: str


class BatchOut(BaseModel):
    id: str
    accepted: int
    invalid: list[InvalidRecipient]
    duplicates: int
    segments: int | None = Field(description="Segments per message (null when bodies differ)")
    total_segments: int
    encoding: str | None
    channel_id: str
    send_at: str | None
    status_counts: dict[str, int]
    message_ids: list[str] | None = Field(
        default=None, description="Inline up to 1,000; beyond that page GET /v1/messages?batch_id="
    )
    created_at: str


class BatchStatusOut(BaseModel):
    id: str
    accepted: int
    invalid: list[InvalidRecipient]
    duplicates: int
    channel_id: str
    send_at: str | None
    status_counts: dict[str, int]
    done: int
    progress: float = Field(description="Share of messages in a final status, 0..1")
    created_at: str


class MessageError(BaseModel):
    code: str
    message: str | None


class Routing(BaseModel):
    """Why the message is on its channel."""

    route: str | None = Field(description="The route that chose the channel; null for the default channel")
    fallback_channel_id: str | None
    via_fallback: bool = Field(description="True once the message moved to its fallback channel")


class MessageOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    account_id: str
    batch_id: str | None
    direction: str
    status: str
    channel_id: str | None
    routing: Routing
    from_: str | None = Field(alias="from")
    to: str
    contact: str | None = Field(
        default=None, description="Id (ctc_…) of the contact addressed or, inbound, whose address sent it"
    )
    body: str
    template: dict[str, Any] | None = Field(default=None, description="The WhatsApp template sent, if any")
    encoding: str
    segments: int
    priority: str
    send_at: str | None
    expires_at: str | None
    attempts: int
    provider_message_id: str | None
    error: MessageError | None
    status_callback: str | None
    metadata: dict[str, Any] | None
    created_at: str
    updated_at: str


class MessagePage(BaseModel):
    data: list[MessageOut]
    next_cursor: str | None


class EventOut(BaseModel):
    status: str
    at: str
    code: str | None
    detail: str | None


class EventPage(BaseModel):
    data: list[EventOut]
    next_cursor: str | None


class CancelBatchOut(BaseModel):
    id: str
    canceled: int
