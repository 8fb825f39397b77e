"""`/api/v1/integration`: the Zoho Books connection's status and the sync log."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ledgersync.services import integration, sync_log
from ledgersync.web.api.deps import ApiContainer, ApiPartner, ApiRoute
from ledgersync.web.api.paging import PAGED, Limit, Offset, paged
from ledgersync.web.api.schemas import AccountRef, IntegrationOut, StreamOut, SyncRunOut

router = APIRouter(prefix="/integration", tags=["integration"], route_class=ApiRoute)


@router.get("", response_model=IntegrationOut)
def get_integration(container: ApiContainer, partner_id: ApiPartner) -> IntegrationOut:
    """Connection status, organisation, account mapping and initial-sync progress."""
    conn = integration.get_connection(container, partner_id)
    if conn is None:
        return IntegrationOut(status="disconnected")
    return IntegrationOut(
        provider=conn.provider,
        status=conn.status,
        status_detail=conn.status_detail,
        organization_id=conn.organization_id,
        organization_name=conn.organization_name,
        currency_code=conn.currency_code,
        data_center=conn.data_center,
        connected_at=conn.connected_at,
        accounts={
            "undeposited_funds": AccountRef(id=conn.undeposited_account_id, name=conn.undeposited_account_name),
            "bank": AccountRef(id=conn.bank_account_id, name=conn.bank_account_name),
            "fees": AccountRef(id=conn.fees_account_id, name=conn.fees_account_name),
            "deposits_from": AccountRef(id=conn.income_account_id, name=conn.income_account_name),
        },
        initial_sync_phase=conn.initial_sync_phase,
        initial_sync_progress=integration.initial_sync_progress(container, conn.id),
        streams=[StreamOut.model_validate(c) for c in sync_log.list_cursors(container, partner_id, conn.id)],
    )


@router.get("/sync-runs", response_model=list[SyncRunOut], responses=PAGED)
def list_sync_runs(
    request: Request,
    response: Response,
    container: ApiContainer,
    partner_id: ApiPartner,
    stream: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[object]:
    return paged(request, response, sync_log.page_sync_runs(container, partner_id, stream=stream, limit=limit,
                                                            offset=offset))
