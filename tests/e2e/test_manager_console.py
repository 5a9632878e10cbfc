"""The manager's console in headless Chromium: project create → taxonomy v2 (with a label
mapping and guidelines) → import by upload (a bad file first: FILE:LINE errors, nothing
written) → export with filters → report download. Korean UI screenshots of each step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from modops.store import session_scope
from modops.store.models import AuditLog, Item, Project
from tests.e2e.conftest import Live, shot, sign_in

pytestmark = pytest.mark.e2e

GOOD = "".join(json.dumps({"external_id": f"live-{i}", "product": "live",
                           "comment": text}, ensure_ascii=False) + "\n"
               for i, text in enumerate(["방송 재밌네요", "진행자 최고", "광고 문의 010-1234-5678",
                                         "오늘도 잘 보고 갑니다", "이 방송 또 언제 해요?"]))
BAD = (json.dumps({"external_id": "live-x", "product": "live", "comment": "괜찮음"},
                  ensure_ascii=False) + "\n" + '{"external_id": "live-y", "product": \n'
       + json.dumps({"external_id": "live-z", "comment": "서비스 없음"}, ensure_ascii=False)
       + "\n")


@pytest.fixture(autouse=True)
def _job_files_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODOPS_JOB_DIR", str(tmp_path / "jobs"))


def _clean_but_refusals(watch) -> None:
    """Clean, except the browser's log line for each form we sent wrong on purpose (a 422
    that re-renders the form with its errors)."""
    watch.console_errors = [e for e in watch.console_errors if "status of 422" not in e]
    watch.assert_clean()


def _items(live: Live, key: str) -> int:
    with session_scope(live.engine) as s:
        return s.scalar(select(func.count()).select_from(Item).join(
            Project, Project.id == Item.project_id).where(Project.key == key)) or 0


def _create_project(pg: Page, live: Live) -> None:
    pg.goto(f"{live.url}/manage")
    pg.click("#new-project")
    expect(pg.locator("#project-form")).to_be_visible()
    pg.fill("#project-key", "kr-live")
    pg.fill("#project-name", "라이브 방송 모니터링")
    pg.fill("#project-description", "LIVE 댓글 검수 (신규)")
    pg.uncheck("#product-comment")
    pg.fill("#setting-gold_rate", "1.5")  # refused: shown next to the field, form kept
    pg.click("#create-project")
    expect(pg.locator("#error-products")).to_be_visible()
    expect(pg.locator("#error-gold_rate")).to_contain_text("0에서 1 사이")
    expect(pg.locator("#project-name")).to_have_value("라이브 방송 모니터링")
    shot(pg, "manager-project-create-errors.png")
    pg.check("#product-live")
    pg.check("#product-comment")
    pg.fill("#setting-gold_rate", "0.05")
    pg.fill("#setting-overlap_k", "2")
    pg.fill("#setting-sla-live", "60")
    pg.fill("#setting-auto_action_threshold", "0.97")
    pg.fill("#setting-auto_clear_threshold", "0.03")
    pg.select_option("#project-taxonomy", "starter")
    shot(pg, "manager-project-create.png")
    pg.click("#create-project")
    pg.wait_for_url(f"{live.url}/manage/kr-live/taxonomy?m=saved")
    with session_scope(live.engine) as s:
        p = s.scalar(select(Project).where(Project.key == "kr-live"))
        assert p is not None and p.overlap_k == 2 and p.settings["sla_by_product"] == {"live": 60}


def _row_of(pg: Page, key: str) -> str:
    return pg.locator(f'#label-rows input[name^="key."][value="{key}"]').get_attribute("name") \
        .split(".")[1]


def _taxonomy_v2(pg: Page, live: Live) -> None:
    pg.click("#edit-taxonomy")
    expect(pg.locator("#taxonomy-form")).to_be_visible()
    i = _row_of(pg, "violation")
    pg.fill(f"#key-{i}", "abuse")  # renamed: asks for a mapping
    pg.fill(f"#name_ko-{i}", "괴롭힘·욕설")
    pg.fill(f"#name_en-{i}", "Abuse")
    pg.click("#preview-taxonomy")  # the preview offers the renamed label as a parent
    expect(pg.locator("#map-violation")).to_be_visible()
    blank = pg.locator('#label-rows input[name^="key."][value=""]').first.get_attribute("name") \
        .split(".")[1]
    pg.fill(f"#key-{blank}", "abuse.threat")
    pg.select_option(f"#parent-{blank}", "abuse")
    pg.fill(f"#name_ko-{blank}", "협박")
    pg.fill(f"#name_en-{blank}", "Threats")
    pg.fill(f"#shortcut-{blank}", "t")
    pg.select_option("#map-violation", "abuse")
    pg.fill("#taxonomy-note", "위반 → 괴롭힘·욕설, 협박 하위 라벨 추가 (가이드라인 2.1)")
    shot(pg, "manager-taxonomy-v2-mapping.png")
    pg.click("#apply-taxonomy")
    pg.wait_for_url(f"{live.url}/manage/kr-live/taxonomy?m=saved")
    expect(pg.locator("#taxonomy-version")).to_contain_text("v2")
    expect(pg.locator("#taxonomy-history")).to_contain_text("violation")
    expect(pg.locator('#label-tree tr.child[data-label="abuse.threat"]')).to_be_visible()
    # guidelines for the new label, stored with v2
    pg.locator('#label-tree tr[data-label="abuse.threat"] a.guideline-link').click()
    pg.fill("#definition_ko", "상대에게 해를 끼치겠다고 위협하는 표현")
    pg.fill("#definition_en", "Saying one will harm someone")
    pg.fill("#positive_ko", "가만 안 둔다 찾아간다\n집 주소 안다")
    pg.fill("#negative_ko", "게임에서 이기겠다는 말")
    shot(pg, "manager-guidelines.png")
    pg.click("#save-guidelines")
    pg.wait_for_url(f"{live.url}/manage/kr-live/taxonomy?m=saved")
    expect(pg.locator('#label-tree tr[data-label="abuse.threat"] .definition')).to_contain_text(
        "위협하는")
    shot(pg, "manager-taxonomy-v2.png")


def _upload(pg: Page, live: Live, name: str, body: str) -> None:
    pg.goto(f"{live.url}/manage/kr-live/import")
    pg.set_input_files("#import-file", files=[{"name": name, "mimeType": "application/json",
                                               "buffer": body.encode()}])
    pg.click("#start-import")
    pg.wait_for_url(f"{live.url}/manage/kr-live/jobs/*")


def _import(pg: Page, live: Live) -> None:
    _upload(pg, live, "라이브-댓글-오류.jsonl", BAD)
    expect(pg.locator("#job-panel")).to_have_attribute("data-state", "failed", timeout=30_000)
    errors = pg.locator("#job-errors")
    expect(errors).to_contain_text("라이브-댓글-오류.jsonl:2")
    expect(errors).to_contain_text("라이브-댓글-오류.jsonl:3")
    assert "uploads" not in pg.content() and ".modops" not in pg.content()
    assert _items(live, "kr-live") == 0  # all-or-nothing
    shot(pg, "manager-import-errors.png")
    _upload(pg, live, "라이브-댓글.jsonl", GOOD)
    expect(pg.locator("#job-panel")).to_have_attribute("data-state", "succeeded",
                                                       timeout=30_000)
    expect(pg.locator('#job-numbers [data-n="inserted"]')).to_have_text("5")
    assert _items(live, "kr-live") == 5
    shot(pg, "manager-import-upload.png")


def _export(pg: Page, live: Live, tmp: Path) -> None:
    pg.click("#nav-export")
    pg.select_option("#export-format", "csv")
    pg.select_option("#export-product", "live")
    shot(pg, "manager-export-filters.png")
    pg.click("#start-export")
    expect(pg.locator("#job-panel")).to_have_attribute("data-state", "succeeded",
                                                       timeout=30_000)
    with pg.expect_download() as info:
        pg.click("#download-csv")
    path = tmp / "export.csv"
    info.value.save_as(path)
    assert info.value.suggested_filename.startswith("kr-live-export-")
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") == 6 and "live-4" in text  # header + 5 items


def _report(pg: Page, live: Live, tmp: Path) -> None:
    pg.click("#nav-reports")
    pg.fill("#report-period", "지난주")
    pg.click("#start-report")
    expect(pg.locator("#error-period")).to_be_visible()
    pg.fill("#report-period", "2026-W49")
    pg.check("#report-format-html")
    pg.check("#report-format-xlsx")
    pg.click("#start-report")
    expect(pg.locator("#job-panel")).to_have_attribute("data-state", "succeeded",
                                                       timeout=120_000)
    expect(pg.locator("#downloads a")).to_have_count(2)
    assert "/jobs/report-" not in pg.content() and ".modops" not in pg.content()
    shot(pg, "manager-report-download.png")
    with pg.expect_download() as info:
        pg.click("#download-xlsx")
    assert info.value.suggested_filename == "kr-live-report-2026-W49-ko.xlsx"
    info.value.save_as(tmp / "report.xlsx")
    assert (tmp / "report.xlsx").read_bytes()[:2] == b"PK"


def test_manager_project_taxonomy_import_export_report(live: Live, page, tmp_path: Path) -> None:
    pg, watch = page
    sign_in(pg, live, "manager", "/manage")
    _create_project(pg, live)
    _taxonomy_v2(pg, live)
    _import(pg, live)
    _export(pg, live, tmp_path)
    _report(pg, live, tmp_path)
    with session_scope(live.engine) as s:
        actions = set(s.scalars(select(AuditLog.action).join(
            Project, Project.id == AuditLog.project_id).where(Project.key == "kr-live")))
    assert {"project.create", "project.taxonomy", "taxonomy.guidelines"} <= actions
    _clean_but_refusals(watch)


def test_settings_errors_are_inline_and_the_form_is_kept(live: Live, page) -> None:
    pg, watch = page
    sign_in(pg, live, "manager", "/manage/kr-web/settings")
    pg.fill("#setting-overlap_k", "0")
    pg.fill("#setting-auto_action_threshold", "0.2")
    pg.fill("#setting-auto_clear_threshold", "0.5")
    pg.click("#save-settings")
    expect(pg.locator("#error-overlap_k")).to_contain_text("1에서 20 사이")
    expect(pg.locator("#error-thresholds")).to_be_visible()
    expect(pg.locator("#setting-auto_clear_threshold")).to_have_value("0.5")
    shot(pg, "manager-settings-inline-errors.png")
    with session_scope(live.engine) as s:
        assert s.scalar(select(Project.overlap_k).where(Project.key == "kr-web")) != 0
    _clean_but_refusals(watch)
