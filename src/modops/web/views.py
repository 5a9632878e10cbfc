"""Web pages: thin views over the same use cases and the same policy layer as the API.

Every page is server-rendered with autoescaping on; item text is hostile input and is only
ever rendered as text. htmx (hx-boost) makes forms feel instant but every form also works as a
plain POST → 303 redirect, so nothing depends on JavaScript except keyboard shortcuts.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy import select

from modops.accounts import add_user, end_session, list_users
from modops.api import policies
from modops.api.auth import (
    LOCALE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Principal,
    current,
    password_sign_in,
)
from modops.api.auth import resolve as resolve_principal
from modops.api.deps import engine_of, settings_of
from modops.api.errors import NotAuthenticated, TooManyAttempts
from modops.api.readmodels import dashboard
from modops.domain import ModOpsError, ProjectStatus, Role
from modops.domain.fields import TEXT_FIELDS
from modops.projects import (
    KNOWN_PRODUCTS,
    get_project,
    project_settings,
    setting_errors,
    update_project,
)
from modops.settings import settings
from modops.store import session_scope
from modops.store.models import Team, User
from modops.web import formats
from modops.web.charts import throughput_svg
from modops.web.console_forms import EDITABLE, error_keys, settings_changes
from modops.web.i18n import LOCALES, pick_locale, translate

TEMPLATES = Path(__file__).resolve().parent / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),  # on everywhere
    trim_blocks=True,
    lstrip_blocks=True,
)
router = APIRouter(include_in_schema=False)

# Invisible bidi controls (U+202A-202E, U+2066-2069, LRM/RLM) are how "gnp.exe" tricks work:
# the labeler sees them as visible markers, in logical order, instead of being fooled.
_BIDI = {cp: f"\u27e6U+{cp:04X}\u27e7" for cp in
         (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}


def reveal_controls(value: object) -> str:
    return str(value).translate(_BIDI)


env.filters["reveal"] = reveal_controls
formats.install(env)  # |dt |hm |int_ |num |pct |money: one way to show times and numbers
env.globals["text_fields"] = TEXT_FIELDS  # the item's text, in the order every view shows it


def highlight_matches(value: object, why: list[dict[str, Any]] | None) -> Markup:
    """The text, escaped and bidi-revealed, with the words the machine matched in ``<mark>``.

    Matches are in the normalised text (``씨😀발`` matched as ``씨발``); the normaliser's
    character map finds the original characters they came from, so the mark covers what the
    reviewer actually sees, evasion included. Everything outside the marks is escaped.
    """
    from modops.machine.normalise import normalise_mapped

    text = str(value)
    words = {w["match"] for w in why or () if w.get("match")}
    spans: list[tuple[int, int]] = []
    if words:
        norm, idx = normalise_mapped(text)
        for word in words:
            start = norm.find(word)
            while start >= 0 and word:
                end = start + len(word)
                spans.append((idx[start], idx[end - 1] + 1))
                start = norm.find(word, end)
    spans.sort()
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, pos = [], 0
    for a, b in merged:
        out.append(escape(reveal_controls(text[pos:a])))
        out.append(Markup('<mark class="why">') + escape(reveal_controls(text[a:b]))
                   + Markup("</mark>"))
        pos = b
    out.append(escape(reveal_controls(text[pos:])))
    return Markup("").join(out)


env.filters["highlight"] = highlight_matches

MESSAGES_OK = {"saved", "decided", "skipped", "flagged", "nochange", "added", "edited",
               "opened", "empty", "taken"}


def _locale(request: Request, principal: Principal | None) -> str:
    return pick_locale(request.cookies.get(LOCALE_COOKIE),
                       principal.locale if principal else None,
                       request.headers.get("accept-language"),
                       settings_of(request).default_locale)


def render(request: Request, template: str, principal: Principal | None, *,
           status_code: int = 200, **values: Any) -> HTMLResponse:
    locale = _locale(request, principal)
    msg = request.query_params.get("m")
    tz = values.pop("tz", None) or formats.project_tz(values.get("project"),
                                                      settings().timezone)
    html = env.get_template(template).render(
        request=request, me=principal, locale=locale, Role=Role, tz=tz,
        product_name=lambda key: KNOWN_PRODUCTS.get(key, (key, key))[0 if locale == "ko" else 1],
        t=lambda key, **kw: translate(locale, key, **kw),
        csrf=principal.csrf_token if principal else "",
        flash=msg if msg in MESSAGES_OK else None, **values)
    return HTMLResponse(html, status_code=status_code)


def render_error(request: Request, code: int, message: str, errors: list[str]) -> Response:
    try:
        principal = resolve_principal(request)
    except ModOpsError:
        principal = None
    return render(request, "error.html", principal, status_code=code, code=code,
                  message=message, errors=errors)


def _local_path(target: str | None, default: str = "/") -> str:
    """Only same-site paths: a ``next`` parameter must never send people elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- sign-in, language -----------------------------------------------------------------------

@router.get("/login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, login_csrf=token, next=_local_path(next),
                      failed=request.query_params.get("failed") in ("1", "wait"),
                      locked=request.query_params.get("failed") == "wait")
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=settings_of(request).cookie_secure, max_age=3600, path="/login")
    return response


@router.post("/login")
def login_submit(request: Request, username: str = Form(...), password: str = Form(...),
                 csrf_token: str = Form(""), next: str = Form("/")) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        return _see_other("/login?failed=1")
    response = _see_other(_local_path(next))
    try:
        password_sign_in(request, response, username, password)
    except NotAuthenticated:
        return _see_other(f"/login?failed=1&next={quote(_local_path(next))}")
    except TooManyAttempts as exc:  # the same throttle as the API's /auth/login
        locked = _see_other(f"/login?failed=wait&next={quote(_local_path(next))}")
        locked.headers["Retry-After"] = str(exc.retry_after)
        return locked
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, p: Principal = Depends(current)) -> Response:
    if p.session_token:
        with session_scope(engine_of(request)) as s:
            end_session(s, p.session_token)
    response = _see_other("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{locale}")
def switch_language(locale: str, request: Request, next: str = "/") -> Response:
    response = _see_other(_local_path(next))
    if locale in LOCALES:
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 86400, samesite="lax",
                            path="/")
    return response


# --- home ------------------------------------------------------------------------------------

@router.get("/")
def home(request: Request, p: Principal = Depends(current)) -> Response:
    with session_scope(engine_of(request)) as s:
        projects = [{"key": x.key, "name": x.name, "status": x.status}
                    for x in policies.visible_projects(s, p)]
    return render(request, "home.html", p, projects=projects)


# --- labeling --------------------------------------------------------------------------------

def _safe_media(url: str | None) -> dict[str, Any] | None:
    if not url:
        return None
    scheme = urlsplit(url.strip()).scheme.lower() if url.strip() else ""
    return {"url": url, "linkable": scheme in ("http", "https")}


def _pretty(meta: Any) -> str | None:
    if not meta:
        return None
    return json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def _seconds_left(view: Any) -> int:
    from modops.store import utcnow

    return max(0, int((view.lease_expires_at - utcnow()).total_seconds()))


# The labeler's and reviewer's screens: modops.web.console_work.


# --- manager screens -------------------------------------------------------------------------

@router.get("/manage")
def manage_index(request: Request, p: Principal = Depends(current)) -> Response:
    policies.require(p, "project.stats")
    with session_scope(engine_of(request)) as s:
        boards = [dashboard(s, get_project(s, x.id)) for x in policies.visible_projects(s, p)]
    return render(request, "manage.html", p, boards=boards)


@router.get("/manage/{key}")
def manage_project(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "project.stats")
        board = dashboard(s, project)
    locale = _locale(request, p)
    chart = throughput_svg(board.throughput, title=translate(locale, "manage.throughput"),
                           x_label=translate(locale, "manage.chart_hour"),
                           y_label=translate(locale, "manage.chart_count"))
    return render(request, "project.html", p, key=key, board=board, chart=chart,
                  can_manage=p.at_least(Role.MANAGER))


@router.get("/manage/{key}/webhooks")
def webhooks_page(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    """The project's webhooks and their recent deliveries: failures stay visible here."""
    from modops.store.models_web import Webhook, WebhookDelivery

    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "project.manage")
        hooks = list(s.scalars(select(Webhook).where(Webhook.project_id == project.id)
                               .order_by(Webhook.id)))
        deliveries = s.execute(
            select(WebhookDelivery, Webhook.url)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(Webhook.project_id == project.id)
            .order_by(WebhookDelivery.id.desc()).limit(100)).all()
        rows = [{"id": d.id, "url": url, "event": d.event, "state": d.state,
                 "attempts": d.attempts, "status": d.last_status, "error": d.last_error,
                 "created_at": d.created_at} for d, url in deliveries]
        hook_rows = [{"id": h.id, "url": h.url, "events": h.events, "active": h.active}
                     for h in hooks]
        name = project.name
    return render(request, "webhooks.html", p, key=key, project_name=name, hooks=hook_rows,
                  deliveries=rows)


def _settings_values(project: Any) -> dict[str, Any]:
    values = project_settings(project)
    sla = (project.settings or {}).get("sla_by_product") or {}
    values.update({f"sla.{k}": v for k, v in sla.items()})
    return values


@router.get("/manage/{key}/settings")
def settings_page(key: str, request: Request, p: Principal = Depends(current)) -> Response:
    with session_scope(engine_of(request)) as s:
        project = policies.project(s, p, key, "project.manage")
        values = _settings_values(project)
        name = project.name
        products = [x.key for x in project.products]
    return render(request, "settings.html", p, key=key, project_name=name, values=values,
                  fields=EDITABLE, statuses=[x.value for x in ProjectStatus], errors={},
                  products=products)


@router.post("/manage/{key}/settings")
async def settings_submit(key: str, request: Request,
                          p: Principal = Depends(current)) -> Response:
    """Save the settings (audited); refused values come back next to their fields, with
    everything that was typed kept (422), and nothing is saved."""
    form = await request.form()
    from starlette.concurrency import run_in_threadpool

    def apply() -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, str], list[str]]:
        with session_scope(engine_of(request)) as s:
            project = policies.project(s, p, key, "project.manage")
            products = [x.key for x in project.products]
            changes, raw = settings_changes(form, products, project.settings)
            changes["show_machine_suggestion"] = form.get("show_machine_suggestion") == "on"
            status = str(form.get("status", ""))
            if status:
                changes["status"] = status
            errors = setting_errors(changes)
            if errors:
                typed = {**raw, "status": status,
                         "show_machine_suggestion": changes["show_machine_suggestion"]}
                return None, typed, error_keys(errors), products
            return update_project(s, project, changes, actor=s.get(User, p.id)), {}, {}, []

    changed, typed, errors, products = await run_in_threadpool(apply)
    if errors:
        with session_scope(engine_of(request)) as s:
            name = policies.project(s, p, key, "project.manage").name
        return render(request, "settings.html", p, status_code=422, key=key,
                      project_name=name, values=typed, fields=EDITABLE,
                      statuses=[x.value for x in ProjectStatus], errors=errors,
                      products=products)
    return _see_other(f"/manage/{key}/settings?m={'saved' if changed else 'nochange'}")


@router.get("/users")
def users_page(request: Request, p: Principal = Depends(current)) -> Response:
    policies.require(p, "user.read")
    with session_scope(engine_of(request)) as s:
        teams = {t.id: t.name for t in s.scalars(select(Team).order_by(Team.name))}
        users = [{"username": u.username, "name": u.display_name, "role": u.role,
                  "team": teams.get(u.team_id) if u.team_id else None, "active": u.active}
                 for u in list_users(s)]
    return render(request, "users.html", p, users=users, teams=sorted(teams.values()),
                  roles=[r.value for r in Role], can_add=p.at_least(Role.ADMIN))


@router.post("/users")
def users_add(request: Request, p: Principal = Depends(current), username: str = Form(...),
              role: str = Form(...), team: str = Form(""), password: str = Form(...),
              display_name: str = Form("")) -> Response:
    policies.require(p, "user.manage")
    with session_scope(engine_of(request)) as s:
        add_user(s, username.strip(), role, password=password, team=team.strip() or None,
                 skills=["ko"], display_name=display_name.strip() or None,
                 actor=s.get(User, p.id))
    return _see_other("/users?m=added")
