"""The manager's investigation pages without a browser: item search and history, alert triage
(acknowledge / assign / snooze / resolve, audited, critical first). Both stores."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from modops.store import session_scope, utcnow
from modops.store.models import AuditLog, Item, Project
from modops.store.models_alerts import AlertRecord
from tests.api.test_web import _sign_in
from tests.api.world import import_rows


def _item_id(world, external_id: str) -> int:
    with session_scope(world.engine) as s:
        return int(s.scalar(select(Item.id).where(Item.external_id == external_id)))


def test_item_search_by_external_id_text_state_and_paging(app_client: TestClient, world) -> None:
    import_rows(world.engine, "kr-web", [
        {"external_id": f"x-{i}", "product": "comment", "comment": f"검색어{i} 내용"}
        for i in range(60)] + [{"external_id": "evil", "product": "comment",
                                "comment": "<script>alert(1)</script> 욕설"}])
    _sign_in(app_client, "manager", "/manage/kr-web/items")
    page = app_client.get("/manage/kr-web/items", params={"ext": "c-3"})
    assert page.status_code == 200
    assert page.text.count('class="item-link"') == 1 and ">c-3</a>" in page.text
    prefix = app_client.get("/manage/kr-web/items", params={"ext": "x-*"})
    assert prefix.text.count('class="item-link"') == 50 and 'id="items-next"' in prefix.text
    nxt = re.search(r'href="([^"]+)" id="items-next"', prefix.text).group(1)
    rest = app_client.get(nxt.replace("&amp;", "&"))
    assert rest.text.count('class="item-link"') == 10
    text = app_client.get("/manage/kr-web/items", params={"q": "검색어7 "})
    assert text.text.count('class="item-link"') == 1
    hostile = app_client.get("/manage/kr-web/items", params={"q": "<script>"})
    assert "<script>alert(1)" not in hostile.text and "&lt;script&gt;" in hostile.text
    queued = app_client.get("/manage/kr-web/items", params={"state": "decided"})
    assert 'id="items-empty"' in queued.text


def test_item_search_by_label_and_days(app_client: TestClient, world) -> None:
    with session_scope(world.engine) as s:
        it = s.scalar(select(Item).where(Item.external_id == "c-2"))
        it.final_labels, it.state = ["profanity"], "decided"
    _sign_in(app_client, "manager", "/manage/kr-web/items")
    page = app_client.get("/manage/kr-web/items", params={"label": "profanity"})
    assert page.text.count('class="item-link"') == 1 and ">c-2</a>" in page.text
    today = (utcnow() + timedelta(hours=9)).date().isoformat()
    assert app_client.get("/manage/kr-web/items", params={"since": today}).text.count(
        'class="item-link"') == 12
    tomorrow = (utcnow() + timedelta(hours=33)).date().isoformat()
    assert 'id="items-empty"' in app_client.get("/manage/kr-web/items",
                                                params={"since": tomorrow}).text


def test_item_history_shows_tasks_answers_and_audit(app_client, world, token_for) -> None:
    h = token_for("lab1")
    task = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=h).json()
    r = app_client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=h,
                        json={"labels": ["profanity"], "note": "<b>메모</b>"})
    assert r.status_code == 200
    item_id = task["item"]["id"]
    _sign_in(app_client, "manager", "/")
    page = app_client.get(f"/manage/kr-web/items/{item_id}")
    assert page.status_code == 200
    for section in ("item-routing", "item-tasks", "item-answers", "item-decisions",
                    "item-appeals", "item-audit"):
        assert f'id="{section}"' in page.text
    answers = page.text.split('id="item-answers"')[1].split("</section>")[0]
    assert "lab1" in answers and "&lt;b&gt;메모&lt;/b&gt;" in answers
    assert "label.submit" in page.text  # the audit entry of that answer
    # another team's manager cannot see it; a labeler may not search at all
    other = TestClient(app_client.app)
    _sign_in(other, "busanmgr", "/")
    assert other.get(f"/manage/kr-web/items/{item_id}").status_code == 404
    assert other.get("/manage/busan-only/items/" + str(item_id)).status_code == 404


def _alerts(world) -> dict[str, int]:
    now = utcnow()
    ids = {}
    with session_scope(world.engine) as s:
        pid = s.scalar(select(Project.id).where(Project.key == "kr-web"))
        for rule, severity, subject in (("gold_accuracy_drop", "warning", None),
                                        ("label_spike", "critical", "profanity"),
                                        ("keyword_burst", "info", "코인")):
            rec = AlertRecord(project_id=pid, rule=rule, severity=severity, subject=subject,
                              message_en=f"alert.msg.{rule}" if rule == "gold_accuracy_drop"
                              else f"{rule} went up", message_ko=f"{rule} 증가",
                              observed=393.5312, expected=12.0, threshold=0.25, stats={},
                              window_start=None, window_end=None, first_seen_at=now,
                              last_seen_at=now, times_seen=1)
            s.add(rec)
            s.flush()
            ids[rule] = rec.id
    return ids


def test_alerts_sorted_by_severity_and_triaged(app_client, world) -> None:
    ids = _alerts(world)
    csrf = _sign_in(app_client, "manager", "/manage/kr-web/analytics/alerts")
    page = app_client.get("/manage/kr-web/analytics/alerts")
    order = re.findall(r'data-severity="(\w+)"', page.text)
    assert order == ["critical", "warning", "info"]
    assert "?label=profanity" in page.text and ">394 <span" in page.text
    base = "/manage/kr-web/alerts/{}/{}"
    for action, data in (("acknowledge", {}), ("assign", {"assignee": "reviewer"}),
                         ("snooze", {"hours": "4"})):
        r = app_client.post(base.format(ids["label_spike"], action),
                            data={**data, "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303, r.text
    page = app_client.get("/manage/kr-web/analytics/alerts")
    assert re.findall(r'data-severity="(\w+)"', page.text) == ["warning", "info", "critical"]
    row = page.text.split(f'id="alert-{ids["label_spike"]}"')[1].split("</tr>")[0]
    assert "MANAGER" not in row and "manager" in row and "reviewer" in row
    r = app_client.post(base.format(ids["label_spike"], "resolve"), data={"csrf_token": csrf},
                        follow_redirects=False)
    assert r.status_code == 303
    with session_scope(world.engine) as s:
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.entity == "alert")))
        rec = s.get(AlertRecord, ids["label_spike"])
        assert rec.resolved_by == "manager" and rec.assigned_to == "reviewer"
    assert actions == {"alert.acknowledge", "alert.assign", "alert.snooze", "alert.resolve"}
    bad = app_client.post(base.format(ids["keyword_burst"], "assign"),
                          data={"assignee": "nobody", "csrf_token": csrf})
    assert bad.status_code == 422


def test_alert_stored_as_a_raw_key_reads_as_text(app_client, world) -> None:
    _alerts(world)
    _sign_in(app_client, "manager", "/manage/kr-web/analytics/alerts")
    from modops.web.i18n import translate

    page = app_client.get("/manage/kr-web/analytics/alerts", headers={"accept-language": "en"})
    assert "alert.msg.gold_accuracy_drop" not in page.text
    assert translate("ko", "alert.rule.gold_accuracy_drop") in page.text or \
        translate("en", "alert.rule.gold_accuracy_drop") in page.text


def test_alert_triage_needs_the_project(app_client, world) -> None:
    ids = _alerts(world)
    csrf = _sign_in(app_client, "busanmgr", "/")
    r = app_client.post(f"/manage/kr-web/alerts/{ids['label_spike']}/resolve",
                        data={"csrf_token": csrf})
    assert r.status_code == 404
    other = TestClient(app_client.app)
    csrf = _sign_in(other, "reviewer", "/")
    r = other.post(f"/manage/kr-web/alerts/{ids['label_spike']}/resolve",
                   data={"csrf_token": csrf})
    assert r.status_code == 403


def test_quality_tab_states_the_minimum_n_for_kappa(app_client, world) -> None:
    _sign_in(app_client, "manager", "/manage/kr-web/analytics/quality")
    from modops.web.dashboards import KAPPA_MIN_N

    page = app_client.get("/manage/kr-web/analytics/quality")
    assert page.status_code == 200
    assert 'id="kappa-min-n"' in page.text or 'id="pairwise"' not in page.text
    assert KAPPA_MIN_N >= 20


def test_scorecard_per_labeler(app_client, world, token_for) -> None:
    for who in ("lab1", "lab2"):
        h = token_for(who)
        task = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=h).json()
        r = app_client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=h,
                            json={"labels": ["none"]})
        assert r.status_code == 200
    _sign_in(app_client, "manager", "/manage/kr-web/analytics/scorecard")
    page = app_client.get("/manage/kr-web/analytics/scorecard")
    assert page.status_code == 200
    assert 'data-labeler="lab1"' in page.text and 'data-labeler="lab2"' in page.text
    assert "골드 없음" in page.text  # no gold in this world: said, not a fake 0%
