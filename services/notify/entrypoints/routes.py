"""The notify API (API.md, notify section): the inbox, webhooks and their delivery log, and
each pegawai's email contact."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import ConfigDict, Field

from services.notify.delivery.registry import WebhookHandlers
from services.notify.service_layer.contacts import ContactHandlers
from services.notify.service_layer.inbox import InboxService
from shared.domain.identity import Identity
from shared.http.auth import current_identity
from shared.http.bodies import RequestBody, storable_parameters
from shared.http.correlation import request_context
from shared.http.problems import problem_responses

router = APIRouter(dependencies=[Depends(storable_parameters)])
Caller = Annotated[Identity, Depends(current_identity)]
READS = problem_responses(401, 403, 422)
WRITES = problem_responses(401, 403, 404, 409, 422)


def inbox(request: Request) -> InboxService:
    service: InboxService = request.app.state.handlers.inbox
    return service


def webhooks(request: Request) -> WebhookHandlers:
    handlers: WebhookHandlers = request.app.state.handlers.webhooks
    return handlers


def contacts(request: Request) -> ContactHandlers:
    handlers: ContactHandlers = request.app.state.handlers.contacts
    return handlers


Inbox = Annotated[InboxService, Depends(inbox)]
Webhooks = Annotated[WebhookHandlers, Depends(webhooks)]
Contacts = Annotated[ContactHandlers, Depends(contacts)]


class NewWebhook(RequestBody):
    url: str = Field(min_length=1, max_length=2048)
    event_types: list[str] = Field(min_length=1, max_length=200)
    secret: str = Field(min_length=1, max_length=512)


class ContactBody(RequestBody):
    model_config = ConfigDict(str_strip_whitespace=True)

    email: str | None = Field(default=None, max_length=320)
    email_opt_out: bool = False


@router.get("/inbox/{nip}", responses=READS, tags=["inbox"])
async def read_inbox(
    nip: str,
    caller: Caller,
    service: Inbox,
    lang: Annotated[str, Query(pattern="^(id|en)$")] = "id",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The pegawai's messages, newest first, in Bahasa Indonesia (`lang=en`: English). Admins
    read what every admin must see at `/inbox/admins`."""
    return {"items": await service.items(nip, caller, lang, limit)}


@router.post("/inbox/{nip}/{notification_id}/read", responses=WRITES, tags=["inbox"])
async def mark_read(
    nip: str, notification_id: uuid.UUID, caller: Caller, service: Inbox
) -> dict[str, Any]:
    version = await service.mark_read(nip, notification_id, caller, request_context(caller))
    return {"notification_id": str(notification_id), "read": True, "version": version}


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, responses=WRITES, tags=["webhooks"])
async def register_webhook(body: NewWebhook, caller: Caller, service: Webhooks) -> dict[str, Any]:
    """Each event of `event_types` (catalog names, `name.vN`, or `*`) recorded from now on is
    POSTed to `url` as a structured CloudEvent, signed: `X-Kinerja-Signature: sha256=<hex
    HMAC-SHA256(secret, body)>`, with `X-Kinerja-Delivery` the same on every retry."""
    done = await service.register_webhook(
        body.url, body.event_types, body.secret, caller, request_context(caller)
    )
    return {"webhook_id": done.webhook_id, "version": done.version}


@router.get("/webhooks", responses=READS, tags=["webhooks"])
async def list_webhooks(caller: Caller, service: Webhooks) -> list[dict[str, Any]]:
    return await service.list_webhooks(caller)


@router.delete("/webhooks/{webhook_id}", responses=WRITES, tags=["webhooks"])
async def remove_webhook(webhook_id: str, caller: Caller, service: Webhooks) -> dict[str, Any]:
    done = await service.remove_webhook(webhook_id, caller, request_context(caller))
    return {"webhook_id": done.webhook_id, "version": done.version}


@router.get("/webhooks/{webhook_id}/deliveries", responses=WRITES, tags=["webhooks"])
async def delivery_log(
    webhook_id: str,
    caller: Caller,
    service: Webhooks,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The webhook's deliveries, newest first, each with every attempt."""
    return await service.delivery_log(webhook_id, caller, limit)


@router.put("/contacts/{nip}", responses=WRITES, tags=["contacts"])
async def set_contact(
    nip: str, body: ContactBody, caller: Caller, service: Contacts
) -> dict[str, Any]:
    """Where the pegawai's email goes, and whether they want email at all."""
    version = await service.set_contact(
        nip, body.email, body.email_opt_out, caller, request_context(caller)
    )
    return {"nip": nip, "version": version}
