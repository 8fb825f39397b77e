"""`/docs` (Swagger UI) and `/redoc` (ReDoc) for the REST API, with every asset served from the
package (`web/static/vendor/`, see its SOURCES.md): the pages work offline and load nothing from
a CDN (FastAPI's defaults load Swagger UI from jsDelivr and ReDoc's fonts from Google)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

VENDOR = "/static/vendor"
#: the pages may load only from here: ReDoc's bundle would fetch its "powered by" logo from its
#: CDN, which the browser then refuses (the page works the same without it)
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'")


def _own_assets_only(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = CSP
    return response


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    return _own_assets_only(get_swagger_ui_html(
        openapi_url=app.openapi_url, title=f"{app.title} — API (Swagger UI)",
        swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
        oauth2_redirect_url="/docs/oauth2-redirect",
    ))


@router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    app = request.app
    return _own_assets_only(get_redoc_html(
        openapi_url=app.openapi_url, title=f"{app.title} — API (ReDoc)",
        redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
        with_google_fonts=False,
    ))
