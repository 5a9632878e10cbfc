"""Report wording in Korean and English, and number formatting shared by every format.

Only labels live here: every number a report prints comes from ``modops.analytics`` (or
``modops.quality``). Metric names, units and their formatting come from the metric catalogue
(``modops.analytics.catalogue``), the same the dashboards use.
"""

from __future__ import annotations

from modops.analytics.catalogue import UNITS, format_number
from modops.analytics.catalogue import Lang as Lang
from modops.analytics.catalogue import is_missing as is_missing
from modops.analytics.catalogue import metric_name as metric_name
from modops.analytics.catalogue import unit_kind as unit_kind

LANGS: tuple[Lang, ...] = ("ko", "en")

# UI strings: key -> (Korean, English)
TEXT: dict[str, tuple[str, str]] = {
    "title": ("운영 리포트", "Operations report"),
    "global_title": ("글로벌 싱크 리포트", "Global sync report"),
    "project": ("프로젝트", "Project"),
    "projects": ("프로젝트", "Projects"),
    "period": ("기간", "Period"),
    "compared_with": ("비교 기간", "Compared with"),
    "as_of": ("기준 시각", "As of"),
    "generated_at": ("생성 시각", "Generated at"),
    "methodology": ("지표 방법론 버전", "Methodology version"),
    "summary": ("요약", "Summary"),
    "exec_summary": ("핵심 요약", "Executive summary"),
    "narrative": ("주요 변화", "Notable changes"),
    "kpis": ("핵심 지표", "Key metrics"),
    "metric": ("지표", "Metric"),
    "current": ("이번 기간", "Current"),
    "previous": ("이전 기간", "Previous"),
    "delta": ("증감", "Change"),
    "target": ("목표", "Target"),
    "status": ("상태", "Status"),
    "ci_low": ("95% 하한", "95% low"),
    "ci_high": ("95% 상한", "95% high"),
    "numerator": ("분자", "Numerator"),
    "denominator": ("분모", "Denominator"),
    "green": ("양호", "Green"),
    "amber": ("주의", "Amber"),
    "red": ("위험", "Red"),
    "no_target": ("—", "—"),
    "sec_throughput": ("처리량 및 백로그", "Throughput and backlog"),
    "sec_sla": ("SLA 및 조치 시간", "SLA and time to action"),
    "sec_quality": ("품질", "Quality"),
    "sec_prevalence": ("유병률", "Prevalence"),
    "sec_machine": ("모델 품질 및 자동화", "Machine quality and automation"),
    "sec_policy": ("정책별 추이", "Per-policy trends"),
    "sec_alerts": ("경보", "Alerts"),
    "sec_staffing": ("인력 예측", "Staffing forecast"),
    "sec_projects": ("프로젝트 비교", "Projects compared"),
    "sheet_summary": ("요약", "Summary"),
    "backlog_by_age": ("연령별 백로그", "Backlog by age"),
    "age_bucket": ("대기 시간", "Age"),
    "open_tasks": ("미처리 작업", "Open tasks"),
    "by_product": ("상품별 처리량", "Throughput by product"),
    "product": ("상품", "Product"),
    "team": ("팀", "Team"),
    "labeler": ("라벨러", "Labeler"),
    "tasks_done": ("완료 작업", "Tasks finalized"),
    "per_hour": ("시간당", "Per hour"),
    "share": ("비중", "Share"),
    "team_scorecards": ("팀별 스코어카드", "Scorecards by team"),
    "labelers": ("라벨러 수", "Labelers"),
    "gold_n": ("골드 채점 수", "Gold scored"),
    "gold_correct": ("골드 정답 수", "Gold correct"),
    "below_target": ("목표 미달 라벨러", "Labelers below target"),
    "agreement_by_label": ("라벨별 일치도 (알파, 일대다)",
                           "Agreement by label (alpha, one-vs-rest)"),
    "label": ("정책 라벨", "Policy label"),
    "label_key": ("라벨 키", "Label key"),
    "alpha": ("알파", "Alpha"),
    "daily_by_label": ("일별 라벨 결정 건수", "Decisions per day by label"),
    "day": ("날짜", "Day"),
    "by_label": ("라벨별 결정 건수", "Decisions by label"),
    "delta_pct": ("증감률", "Change %"),
    "rule": ("규칙", "Rule"),
    "severity": ("심각도", "Severity"),
    "subject": ("대상", "Subject"),
    "message": ("내용", "Message"),
    "observed": ("관측값", "Observed"),
    "expected": ("기대값", "Expected"),
    "threshold": ("임계값", "Threshold"),
    "no_alerts": ("기준 시각에 발생 중인 경보가 없습니다.", "No alerts were standing at the "
                  "as-of time."),
    "alerts_note": ("경보는 기준 시각({as_of})에 직전 24시간 창으로 평가한 결과입니다.",
                    "Alerts are evaluated at the as-of time ({as_of}) over the trailing "
                    "24-hour window."),
    "backlog_plan": ("백로그 기반 인력 계획 (최근 7일 기준)",
                     "Backlog staffing plan (last 7 days)"),
    "live_plan": ("LIVE 대기열 인력 (얼랭 C)", "LIVE queue staffing (Erlang C)"),
    "item": ("항목", "Item"),
    "value": ("값", "Value"),
    "prevalence_ci": ("유병률과 95% 신뢰구간", "Prevalence with 95% intervals"),
    "machine_vs_prev": ("모델 품질: 이번 기간과 이전 기간", "Machine quality: current vs previous"),
    "gold_by_team": ("팀별 골드 정확도 (95% 구간)", "Gold accuracy by team (95% interval)"),
    "kpi_chart": ("핵심 비율 지표: 이번 기간과 이전 기간", "Key rates: current vs previous"),
    "no_data": ("데이터 없음", "No data"),
    "none_team": ("(팀 없음)", "(no team)"),
    "all": ("전체", "All"),
    "no_changes": ("{prev_phrase} 대비 주목할 만한 변화가 없습니다.",
                   "No notable changes {prev_phrase_en}."),
    "no_compare": ("비교 기간 없이 작성되었습니다.", "No comparison period was requested."),
    "footer": ("지표 정의: docs/metrics.md (방법론 {version}). 모든 수치는 modops.analytics로 "
               "계산되었습니다.",
               "Definitions: docs/metrics.md (methodology {version}). Every number is "
               "computed by modops.analytics."),
    "plan_backlog": ("현재 백로그 (작업)", "Backlog now (tasks)"),
    "plan_arrivals": ("시간당 유입 (작업)", "Arrivals per hour (tasks)"),
    "plan_sla_h": ("SLA (시간)", "SLA (hours)"),
    "plan_productivity": ("측정 생산성 (작업/라벨러·시간)",
                          "Measured productivity (tasks/labeler-hour)"),
    "plan_aht": ("평균 처리 시간 (초)", "Mean handle time (s)"),
    "plan_hours_backlog": ("백로그 해소 필요 라벨러·시간", "Labeler-hours for the backlog"),
    "plan_hours": ("SLA 창 필요 라벨러·시간", "Labeler-hours over the SLA window"),
    "plan_labelers": ("필요 동시 라벨러 수", "Concurrent labelers needed"),
    "plan_occupancy": ("필요 점유율", "Occupancy needed"),
    "plan_flag": ("점유율 90% 초과 여부", "Occupancy above 90%"),
    "erl_arrivals": ("시간당 유입 (LIVE)", "Arrivals per hour (LIVE)"),
    "erl_aht": ("평균 처리 시간 (초)", "Mean handle time (s)"),
    "erl_load": ("제공 부하 (얼랭)", "Offered load (Erlangs)"),
    "erl_target": ("목표 서비스 수준", "Target service level"),
    "erl_answer": ("목표 응답 시간 (초)", "Target answer time (s)"),
    "erl_agents": ("필요 인원", "Agents needed"),
    "erl_sl": ("예상 서비스 수준", "Expected service level"),
    "erl_wait": ("대기 확률", "Probability of waiting"),
    "erl_asa": ("평균 응답 시간 (초)", "Average speed of answer (s)"),
    "erl_occ": ("점유율", "Occupancy"),
    "yes": ("예", "Yes"),
    "no": ("아니오", "No"),
}

SEVERITY = {"critical": ("심각", "Critical"), "warning": ("경고", "Warning"),
            "info": ("정보", "Info")}
RULES = {"backlog_past_sla": ("SLA 초과 백로그", "Backlog past SLA"),
         "backlog_forecast_breach": ("백로그 해소 예측 초과", "Backlog forecast breach"),
         "label_spike": ("라벨 급증", "Label spike"),
         "keyword_burst": ("키워드 급증", "Keyword burst"),
         "gold_accuracy_drop": ("골드 정확도 하락", "Gold accuracy drop"),
         "model_drift": ("모델 드리프트", "Model drift")}

# how a period names "the one before" in a sentence
PREV_PHRASE = {"hour": ("직전 시간", "hour over hour"), "day": ("전일", "day over day"),
               "week": ("전주", "week over week"), "month": ("전월", "month over month"),
               "custom": ("이전 기간", "versus the previous period")}


def t(key: str, lang: Lang, **kw: object) -> str:
    """A UI string in ``lang``, with ``str.format`` fields filled."""
    ko, en = TEXT[key]
    s = ko if lang == "ko" else en
    return s.format(**kw) if kw else s


def pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "ko" else pair[1]


# --------------------------------------------------------------------------- formats
# One format code per column kind; each renderer maps it (Excel number format, or a string).
EXCEL_FORMATS: dict[str, str] = {
    "int": "#,##0",
    "float1": "#,##0.0",
    "float2": "#,##0.00",
    "float3": "0.000",
    "pct": "0.0%",
    "pct2": "0.00%",
    "pp": '+0.0"%p";-0.0"%p";0.0"%p"',
    "signed_pct": "+0.0%;-0.0%;0.0%",
    "signed_float": "+#,##0.00;-#,##0.00;0.00",
    "text": "@",
}


def excel_format(kind: str, lang: Lang) -> str:
    """The Excel number format of a column kind; unit kinds show what :func:`fmt` shows
    (hours and seconds with their suffix, money in won without decimals)."""
    if kind in EXCEL_FORMATS:
        return EXCEL_FORMATS[kind]
    u = next((u for u in UNITS.values() if u.kind == kind), None)
    if u is None:
        return "General"
    i = 0 if lang == "ko" else 1
    body = "#,##0" if kind == "money" else "#,##0.0"
    pre = f'"{u.prefix[i]}"' if u.prefix[i] else ""
    suf = f'"{u.suffix[i]}"' if u.suffix[i] else ""
    return pre + body + suf


def fmt(v: object, kind: str, lang: Lang) -> str:
    """Format a value for text formats (HTML, Word, PDF) the way Excel shows it."""
    if is_missing(v):
        return "—"
    if kind == "text" or isinstance(v, str):
        return str(v)
    x = float(v)  # type: ignore[arg-type]
    if kind == "int":
        return f"{x:,.0f}"
    if kind == "float1":
        return f"{x:,.1f}"
    if kind in ("hours", "seconds", "money"):
        return format_number(x, kind, lang)
    if kind == "float2":
        return f"{x:,.2f}"
    if kind == "float3":
        return f"{x:.3f}"
    if kind == "pct":
        return f"{x * 100:.1f}%"
    if kind == "pct2":
        return f"{x * 100:.2f}%"
    if kind == "pp":
        unit = "%p" if lang == "ko" else " pt"
        return f"{_nz(x, 1):+.1f}{unit}"
    if kind == "signed_pct":
        return f"{_nz(x * 100, 1):+.1f}%"
    if kind == "signed_float":
        return f"{_nz(x, 2):+,.2f}"
    return f"{x:,.2f}"


def _nz(x: float, digits: int) -> float:
    """0.0 instead of -0.0 when a tiny negative change rounds to zero."""
    return 0.0 if round(x, digits) == 0 else x


def josa(word: str, with_final: str, without_final: str) -> str:
    """Korean particle after ``word`` (이/가, 은/는, 을/를) by whether it ends in a final
    consonant; digits and a few Latin letters are read the Korean way."""
    w = word.rstrip(" )")
    if not w:
        return without_final
    c = w[-1]
    if "가" <= c <= "힣":
        return with_final if (ord(c) - 0xAC00) % 28 else without_final
    if c.isdigit():
        return with_final if c in "013678" else without_final
    if c.upper() in "LMNR":
        return with_final
    return without_final
