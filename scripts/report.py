"""Build output/report.html from the dbt marts, and print three answers from them.

The page is one self-contained file: the figures are embedded as JSON and drawn as SVG by a
small inline script (no network, no CDN), so it opens anywhere, offline. It shows the rows
of every table, the API calls of each demo step (output/demo/summary.json, when present),
the program funnel (members -> successes), email engagement by week and leads created per
month. Runs with a Python that has duckdb 1.1.3 (the target-duckdb or dbt-duckdb plugin's).

    python scripts/report.py output [--schema analytics] [--source-schema marketo]
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import sys
from pathlib import Path
from typing import Any

import duckdb

# The charts the page draws, in order: (element id, title, what it shows).
CHARTS = (
    ("rows", "Rows per table",
     "Tap tables (schema {source}) and marts (schema {marts}); bar length on a log scale."),
    ("calls", "API calls per demo step",
     "Marketo REST and bulk calls, from the sandbox's counter."),
    ("funnel", "Program funnel", "Members and members who reached success, per program."),
    ("engagement", "Email engagement by week", "Email activities logged per week."),
    ("leads", "Leads created per month", "Leads Marketo holds now, by creation month."),
)


def _rows(db: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Any]:
    return db.execute(sql, params or []).fetchall()


def _qualified(*parts: str) -> str:
    """A dotted name quoted as identifiers (the names come from the database's catalog)."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def table_rows(db: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> dict[str, int]:
    names = [row[0] for row in _rows(
        db, "select table_name from information_schema.tables where table_catalog = ? and "
        "table_schema = ? order by table_name", [catalog, schema])]
    counts = {}
    for name in names:
        table = _qualified(catalog, schema, name)
        counts[name] = _rows(db, f"select count(*) from {table}")[0][0]  # noqa: S608
    return counts


def collect(database: Path, marts: str, source: str, summary: Path | None) -> dict[str, Any]:
    """Everything the page and the answers show, read from the marts."""
    with duckdb.connect(str(database), read_only=True) as db:
        catalog = _rows(db, "select current_database()")[0][0]
        source_rows = table_rows(db, catalog, source)
        mart_rows = table_rows(db, catalog, marts)
        if "marketo__programs" not in mart_rows:
            raise SystemExit(f"no marts in schema {marts!r} of {database}: run dbt first "
                             "(meltano invoke dbt-duckdb:build)")
        activities = sum(n for t, n in source_rows.items() if t.startswith("activities_"))
        tables = [[t, n] for t, n in source_rows.items() if not t.startswith("activities_")]
        tables.append(["activities_* (all types)", activities])
        tables += [[t, n] for t, n in mart_rows.items()]
        # The queries below name the marts unqualified.
        db.execute("use " + _qualified(catalog, marts))

        funnel = _rows(db, """
            select program_name, count_members, count_successes
            from marketo__programs
            order by count_successes desc, count_members desc, program_name""")
        weeks = _rows(db, """
            select cast(week_start as varchar), count_sends, count_deliveries, count_opens,
                   count_clicks
            from marketo__email_engagement_by_week order by week_start""")
        months = _rows(db, """
            select strftime(date_trunc('month', created_timestamp), '%Y-%m'), count(*)
            from marketo__leads where created_timestamp is not null
            group by 1 order by 1""")
        last_week = _rows(db, """
            select cast(week_start as varchar), count_sends, count_deliveries, count_opens,
                   count_clicks, count_unsubscribes, count_leads_engaged
            from marketo__email_engagement_by_week
            where week_start = cast(date_trunc('week', current_date) as date) - 7""")
        this_month = _rows(db, """
            select strftime(current_date, '%Y-%m'), count(*) from marketo__leads
            where created_timestamp >= date_trunc('month', current_date)""")[0]

    steps = []
    if summary is not None and summary.exists():
        for step in json.loads(summary.read_text(encoding="utf-8")).get("steps", []):
            steps.append([step["name"], int(step.get("api_calls", 0))])
    return {
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "database": database.name,
        "schemas": {"source": source, "marts": marts},
        "rows": tables,
        "calls": steps,
        "funnel": [[name, members, successes] for name, members, successes in funnel],
        "engagement": {"series": ["sends", "deliveries", "opens", "clicks"],
                       "weeks": [list(row) for row in weeks]},
        "leads": [list(row) for row in months],
        "answers": {
            "top_programs": [[n, m, s] for n, m, s in funnel[:3]],
            "last_week": list(last_week[0]) if last_week else None,
            "this_month": list(this_month),
        },
    }


def answers_text(data: dict[str, Any]) -> str:
    a = data["answers"]
    lines = ["Top programs by success (members -> successes):"]
    for name, members, successes in a["top_programs"]:
        rate = f"{successes / members:.0%}" if members else "-"
        lines.append(f"  {name:<48} {members:>5} -> {successes:>4}  ({rate})")
    week = a["last_week"]
    if week:
        start, sends, delivered, opens, clicks, unsubscribes, engaged = week
        lines.append(f"Last week's email engagement (week of {start}): {sends} sends, "
                     f"{delivered} delivered, {opens} opens, {clicks} clicks, "
                     f"{unsubscribes} unsubscribe{'' if unsubscribes == 1 else 's'}; "
                     f"{engaged} leads opened or clicked")
    else:
        lines.append("Last week's email engagement: no email activity last week")
    month, count = a["this_month"]
    lines.append(f"Leads created this month ({month}): {count}")
    return "\n".join(lines)


# Draws every chart from the embedded JSON as SVG. Each bar is a <rect class="bar">, each
# line point a <circle class="point">; when done, <body data-rendered="true">.
SCRIPT = r"""
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = ['#2f6fb3', '#e08a2c', '#3a9a5b', '#b8455b'];
  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svgIn(id, width, height) {
    var svg = el('svg', {width: width, height: height, viewBox: '0 0 ' + width + ' ' + height,
                         role: 'img', 'aria-label': id});
    document.getElementById(id).appendChild(svg);
    return svg;
  }
  function fmt(n) { return Number(n).toLocaleString('en-US'); }
  // Horizontal bars: rows of [label, value, value2?]; value2 is drawn inside value's bar.
  // With log, bar lengths follow log10(1 + value), so small tables stay visible.
  function hbars(id, rows, labels, log) {
    var longest = Math.max.apply(null, rows.map(function (r) { return String(r[0]).length; }));
    var left = 12 + 7.2 * longest, width = 1100, barH = 18, gap = 8, top = labels ? 26 : 6;
    var height = top + rows.length * (barH + gap) + 4;
    var svg = svgIn(id, width, height);
    var size = log ? function (v) { return Math.log10(1 + v); } : function (v) { return v; };
    var max = Math.max.apply(null, rows.map(function (r) { return size(r[1]); }).concat([1]));
    var unit = (width - left - 130) / max;
    if (labels) labels.forEach(function (name, i) {
      svg.appendChild(el('rect', {x: left + i * 120, y: 4, width: 12, height: 12,
                                  fill: COLORS[i]}));
      svg.appendChild(el('text', {x: left + i * 120 + 16, y: 14, 'class': 'legend'}, name));
    });
    rows.forEach(function (r, i) {
      var y = top + i * (barH + gap);
      svg.appendChild(el('text', {x: left - 8, y: y + 13, 'text-anchor': 'end'}, r[0]));
      svg.appendChild(el('rect', {'class': 'bar', x: left, y: y, height: barH,
                                  width: Math.max(1, size(r[1]) * unit), fill: COLORS[0]}));
      var note = fmt(r[1]);
      if (r.length > 2) {
        svg.appendChild(el('rect', {'class': 'bar', x: left, y: y + 4, height: barH - 8,
                                    width: Math.max(1, size(r[2]) * unit), fill: COLORS[1]}));
        note += ' \u2192 ' + fmt(r[2]) + (r[1] ? ' (' + Math.round(100 * r[2] / r[1]) + '%)' : '');
      }
      svg.appendChild(el('text', {x: left + size(r[1]) * unit + 6, y: y + 13}, note));
    });
  }
  // Vertical columns over a time axis: rows of [label, value].
  function columns(id, rows) {
    var width = 1120, height = 260, left = 50, bottom = 40, top = 22;
    var svg = svgIn(id, width, height);
    var max = Math.max.apply(null, rows.map(function (r) { return r[1]; }).concat([1]));
    var step = (width - left - 10) / Math.max(rows.length, 1);
    var scale = (height - top - bottom) / max;
    axis(svg, left, top, width, height - bottom, max);
    rows.forEach(function (r, i) {
      var h = Math.max(1, r[1] * scale), x = left + i * step + step * 0.15;
      svg.appendChild(el('rect', {'class': 'bar', x: x, y: height - bottom - h,
                                  width: step * 0.7, height: h, fill: COLORS[0]}));
      svg.appendChild(el('text', {x: x + step * 0.35, y: height - bottom - h - 3,
                                  'text-anchor': 'middle', 'class': 'small'}, fmt(r[1])));
      svg.appendChild(el('text', {x: x + step * 0.35, y: height - bottom + 14,
                                  'text-anchor': 'middle', 'class': 'small'}, r[0]));
    });
  }
  function axis(svg, left, top, right, base, max) {
    svg.appendChild(el('line', {x1: left, y1: base, x2: right, y2: base, stroke: '#999'}));
    svg.appendChild(el('line', {x1: left, y1: top, x2: left, y2: base, stroke: '#999'}));
    svg.appendChild(el('text', {x: left - 6, y: top + 8, 'text-anchor': 'end',
                                'class': 'small'}, fmt(max)));
    svg.appendChild(el('text', {x: left - 6, y: base, 'text-anchor': 'end',
                                'class': 'small'}, '0'));
  }
  // One polyline per series over weeks: weeks are [week_start, v1, v2, ...].
  function lines(id, series, weeks) {
    var width = 1120, height = 300, left = 50, bottom = 40, top = 30;
    var svg = svgIn(id, width, height);
    var max = 1;
    weeks.forEach(function (w) { for (var s = 1; s < w.length; s++) max = Math.max(max, w[s]); });
    var step = (width - left - 40) / Math.max(weeks.length - 1, 1);
    var scale = (height - top - bottom) / max;
    axis(svg, left, top, width, height - bottom, max);
    series.forEach(function (name, s) {
      svg.appendChild(el('rect', {x: left + 10 + s * 120, y: 6, width: 12, height: 12,
                                  fill: COLORS[s]}));
      svg.appendChild(el('text', {x: left + 26 + s * 120, y: 16, 'class': 'legend'}, name));
      var points = weeks.map(function (w, i) {
        return [left + i * step, height - bottom - w[s + 1] * scale];
      });
      svg.appendChild(el('polyline', {'class': 'series', fill: 'none', stroke: COLORS[s],
        'stroke-width': 2, points: points.map(function (p) { return p.join(','); }).join(' ')}));
      points.forEach(function (p, i) {
        var dot = el('circle', {'class': 'point', cx: p[0], cy: p[1], r: 2.5, fill: COLORS[s]});
        dot.appendChild(el('title', {}, weeks[i][0] + ' ' + name + ': ' + fmt(weeks[i][s + 1])));
        svg.appendChild(dot);
      });
    });
    weeks.forEach(function (w, i) {
      if (i % 4 !== 0) return;
      svg.appendChild(el('text', {x: left + i * step, y: height - bottom + 14,
                                  'text-anchor': 'middle', 'class': 'small'}, w[0]));
    });
  }
  hbars('rows', data.rows, null, true);
  if (data.calls.length) hbars('calls', data.calls);
  hbars('funnel', data.funnel, ['members', 'reached success']);
  lines('engagement', data.engagement.series, data.engagement.weeks);
  columns('leads', data.leads);
  document.body.setAttribute('data-rendered', 'true');
})();
"""

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 1160px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin: 28px 0 2px; }
p.note { color: #666; margin: 0 0 8px; } svg text { font-size: 12px; fill: #333; }
svg text.small { font-size: 10px; } svg { max-width: 100%; height: auto; }
pre { background: #f5f5f5; padding: 10px; white-space: pre-wrap; }
"""


def render(data: dict[str, Any]) -> str:
    """The page: headings, the answers, an empty <div> per chart and the script drawing them."""
    # JSON inside <script>: "</" must not close the element early.
    payload = json.dumps(data, default=str).replace("</", "<\\/")
    sections = []
    for element, title, note in CHARTS:
        text = note.format(**data["schemas"])
        if element == "calls" and not data["calls"]:
            text = "No demo summary (output/demo/summary.json) next to this database."
        sections.append(
            f'<h2>{html.escape(title)}</h2>\n'
            f'<p class="note">{html.escape(text)}</p>\n'
            f'<div class="chart" id="{element}"></div>')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>Marketo marts report</title>\n<style>" + STYLE + "</style>\n</head>\n<body>\n"
        "<h1>Marketo marts report</h1>\n"
        f'<p class="note">{html.escape(data["database"])}, built {data["generated"]} '
        "from the dbt marts (transform/).</p>\n"
        f"<pre>{html.escape(answers_text(data))}</pre>\n"
        + "\n".join(sections)
        + '\n<script type="application/json" id="report-data">' + payload + "</script>\n"
        "<script>" + SCRIPT + "</script>\n</body>\n</html>\n"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="the demo's output directory")
    parser.add_argument("--database", type=Path, help="default: OUTPUT/marketo.duckdb")
    parser.add_argument("--schema", default="analytics", help="schema of the marts")
    parser.add_argument("--source-schema", default="marketo", help="schema of the tap's tables")
    args = parser.parse_args(argv[1:])
    database = args.database or args.output / "marketo.duckdb"
    if not database.exists():
        parser.error(f"no database at {database}")
    data = collect(database, args.schema, args.source_schema,
                   args.output / "demo" / "summary.json")
    report = args.output / "report.html"
    report.write_text(render(data), encoding="utf-8")
    sys.stdout.write(answers_text(data) + f"\n\nReport: {report}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
