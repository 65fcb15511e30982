"""The notify API: the inbox (API.md, notify section)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.notify.service_layer.inbox import InboxService
from shared.domain.identity import Identity
from shared.http.auth import current_identity
from shared.http.correlation import request_context
from shared.http.problems import problem_responses

router = APIRouter()
Caller = Annotated[Identity, Depends(current_identity)]
READS = problem_responses(401, 403, 422)
WRITES = problem_responses(401, 403, 404, 409, 422)


def inbox(request: Request) -> InboxService:
    service: InboxService = request.app.state.handlers.inbox
    return service


Inbox = Annotated[InboxService, Depends(inbox)]


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
