/* okto88 operations view: draws every figure on the page with Chart.js (static/vendor/chartjs).
   Each chart box names the json_script element holding its figure (analytics.figure_export.figure_json):
   <div class="ops-chart" data-figure-json="figure-data-KEY"><canvas></canvas></div>.
   The table under the chart holds the same values, so a chart is never the only way to read them. */
(function () {
  "use strict";
  var PALETTE = ["#0b5cad", "#e8590c", "#2b8a3e", "#862e9c", "#c92a2a", "#1098ad", "#a15c07", "#495057"];
  var KIND_COLOURS = { wait: "#a5b4c4", run: "#0b5cad", retrying: "#e8590c", retry: "#e8590c", failed: "#c92a2a",
                       running: "#74c0fc", succeeded: "#2b8a3e", skipped: "#868e96" };
  var lang = document.documentElement.lang || "id";
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  // compact: on an axis of a narrow chart, "Rp 40 jt" rather than "Rp 40.000.000".
  function numberText(value, kind, compact) {
    if (value === null || value === undefined || value === "") { return "–"; }
    if (typeof value !== "number") { return String(value); }
    var digits = kind === "percent" ? 1 : (kind === "number" && !Number.isInteger(value) ? 2 : 0);
    var options = compact ? { notation: "compact", maximumFractionDigits: 1 }
      : { maximumFractionDigits: digits, minimumFractionDigits: digits };
    if (kind === "money") { return "Rp " + new Intl.NumberFormat(compact ? lang : "id", compact ? options : { maximumFractionDigits: 0 }).format(value); }
    var text = new Intl.NumberFormat(lang, options).format(value);
    if (kind === "ms") { return text + " ms"; }
    if (kind === "percent") { return text + " %"; }
    return text;
  }

  // A category label on a narrow chart: lines of at most `width` characters, cut at spaces.
  function wrapped(text, width) {
    var words = String(text).split(" ");
    var lines = [""];
    words.forEach(function (word) {
      var last = lines.length - 1;
      if (lines[last] && (lines[last] + " " + word).length > width) { lines.push(word); } else {
        lines[last] = lines[last] ? lines[last] + " " + word : word;
      }
    });
    return lines.length > 1 ? lines : lines[0];
  }

  function categoryAxis(box) {
    var narrow = box.clientWidth < 520;
    return { ticks: { autoSkip: false, callback: function (value) {
      var label = this.getLabelForValue(value);
      return narrow ? wrapped(label, 16) : label;
    } } };
  }

  function columnsByKey(figure) {
    var map = {};
    figure.columns.forEach(function (column) { map[column.key] = column; });
    return map;
  }

  // Times on an axis: hours and minutes within a day and a half, else day and month (Asia/Jakarta).
  function timeLabels(values) {
    var dates = values.map(function (v) { return new Date(v); });
    var valid = dates.every(function (d) { return !isNaN(d.getTime()); }) && values.every(function (v) {
      return typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v);
    });
    if (!valid) { return values.map(function (v) { return v === null ? "–" : String(v); }); }
    var span = dates.length > 1 ? Math.abs(dates[dates.length - 1] - dates[0]) : 0;
    var dateOnly = values.every(function (v) { return v.length === 10; });
    var options = (span <= 36 * 3600 * 1000 && !dateOnly)
      ? { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Jakarta" }
      : { day: "numeric", month: "short", timeZone: dateOnly ? "UTC" : "Asia/Jakarta" };
    var format = new Intl.DateTimeFormat(lang, options);
    return dates.map(function (d) { return format.format(d); });
  }

  function axisTitle(keys, columns) {
    if (!keys.length) { return ""; }
    var kinds = keys.map(function (k) { return columns[k].kind; });
    if (keys.length === 1) { return columns[keys[0]].label; }
    var units = { ms: "ms", percent: "%", money: "Rp" };
    return kinds.every(function (k) { return k === kinds[0]; }) && units[kinds[0]] ? units[kinds[0]] : "";
  }

  function valueAxis(keys, columns, position, grid, box) {
    var kind = keys.length ? columns[keys[0]].kind : "number";
    var compact = Boolean(box) && box.clientWidth < 520;
    var title = axisTitle(keys, columns);
    return {
      position: position, beginAtZero: true, grid: { drawOnChartArea: grid },
      title: { display: Boolean(title), text: title },
      // precision 0: counts and whole rupiah get whole-number ticks only (else 0.5 shows as a second
      // "1", and an all-zero GMV axis reads "Rp 0, Rp 0, Rp 0, Rp 1, Rp 1, Rp 1").
      ticks: { callback: function (value) { return numberText(value, kind, compact); }, maxTicksLimit: 6, maxRotation: 0,
               autoSkipPadding: 10, precision: kind === "int" || kind === "money" ? 0 : undefined }
    };
  }

  function seriesDataset(figure, key, index, columns, type, axisId) {
    var colour = PALETTE[index % PALETTE.length];
    return {
      type: type, label: columns[key].label, yAxisID: axisId, xAxisID: "x",
      data: figure.rows.map(function (row) { return row[key]; }),
      borderColor: colour, backgroundColor: type === "line" ? colour : colour + "cc",
      borderWidth: type === "line" ? 2 : 0, pointRadius: figure.rows.length > 24 ? 0 : 2, tension: 0.2,
      borderDash: axisId === "y1" && type === "line" ? [6, 4] : [], kind: columns[key].kind
    };
  }

  function tooltipLabel(context) {
    var dataset = context.dataset;
    var raw = context.raw;
    if (Array.isArray(raw)) { return dataset.label + ": " + numberText(raw[0], "ms") + " → " + numberText(raw[1], "ms"); }
    if (raw && Array.isArray(raw.x)) {
      return dataset.label + ": " + numberText(raw.x[1] - raw.x[0], "ms") + " (+" + numberText(raw.x[0], "ms") + ")";
    }
    return dataset.label + ": " + numberText(raw, dataset.kind);
  }

  function cartesianConfig(figure, columns, box) {
    var horizontal = figure.chart === "hbar";
    var baseType = figure.chart === "line" ? "line" : "bar";
    var labels = timeLabels(figure.rows.map(function (row) { return row[figure.x]; }));
    var datasets = figure.series.map(function (key, i) {
      return seriesDataset(figure, key, i, columns, baseType, horizontal ? "x" : "y");
    });
    figure.secondary.forEach(function (key, i) {
      // The right axis is another unit; on a bar chart its series is drawn as a line over the bars.
      datasets.push(seriesDataset(figure, key, figure.series.length + i, columns, "line", "y1"));
    });
    if (horizontal) {
      datasets.forEach(function (d) { d.xAxisID = "x"; d.yAxisID = "y"; });
      return {
        type: "bar", data: { labels: labels, datasets: datasets },
        options: { indexAxis: "y", scales: { x: valueAxis(figure.series, columns, "bottom", true, box), y: categoryAxis(box) } }
      };
    }
    var scales = { x: { ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 } }, y: valueAxis(figure.series, columns, "left", true, box) };
    if (figure.secondary.length) { scales.y1 = valueAxis(figure.secondary, columns, "right", false, box); }
    return { type: baseType, data: { labels: labels, datasets: datasets }, options: { scales: scales } };
  }

  function funnelConfig(figure, columns, box) {
    var key = figure.series[0];
    var values = figure.rows.map(function (row) { return row[key]; });
    var top = Math.max.apply(null, values.concat([1]));
    return {
      type: "bar",
      data: {
        labels: figure.rows.map(function (row) { return String(row[figure.x]); }),
        datasets: [{
          label: columns[key].label, data: values, kind: columns[key].kind,
          // Each stage a shade lighter by what it keeps of the first: the loss shows as colour too.
          backgroundColor: values.map(function (v) { return "rgba(11, 92, 173, " + (0.35 + 0.65 * (v || 0) / top).toFixed(2) + ")"; }),
          borderWidth: 0
        }]
      },
      options: { indexAxis: "y", plugins: { legend: { display: false } },
                 scales: { x: valueAxis([key], columns, "bottom", true, box), y: categoryAxis(box) } }
    };
  }

  // Floating bars, one lane per step: rows carry start_ms, end_ms and kind (wait, run); a run whose
  // status is in extra.marked_statuses (retrying, failed, running) gets that status's colour and
  // legend entry, so retries and failures stand out. The lane is the figure's x column, else "lane".
  function timelineConfig(figure, columns, box) {
    var laneKey = figure.x || "lane";
    var marked = (figure.extra && figure.extra.marked_statuses) || [];
    var labels = {};
    try { labels = JSON.parse(box.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
    Object.assign(labels, (figure.extra && figure.extra.kind_labels) || {});
    var lanes = [];
    var groups = [];
    var byGroup = {};
    figure.rows.forEach(function (row) {
      var lane = String(row[laneKey]);
      if (lanes.indexOf(lane) < 0) { lanes.push(lane); }
      var group = row.kind === "run" && marked.indexOf(row.status) >= 0 ? row.status : String(row.kind);
      if (!byGroup[group]) { byGroup[group] = []; groups.push(group); }
      byGroup[group].push({ x: [row.start_ms, row.end_ms], y: lane });
    });
    var datasets = groups.map(function (group, i) {
      var colour = KIND_COLOURS[group] || PALETTE[i % PALETTE.length];
      return {
        label: labels[group] || group, grouped: false, borderSkipped: false, borderWidth: 0, barPercentage: 0.7,
        minBarLength: 2, backgroundColor: colour, borderColor: colour, data: byGroup[group]
      };
    });
    var xAxis = valueAxis(["start_ms"], columns, "bottom", true, box);
    xAxis.title = { display: false };  // the ticks say ms
    return {
      type: "bar", data: { labels: lanes, datasets: datasets },
      options: { indexAxis: "y", scales: { x: xAxis, y: categoryAxis(box) } }
    };
  }

  function configFor(figure, box) {
    var columns = columnsByKey(figure);
    var config = figure.chart === "funnel" ? funnelConfig(figure, columns, box)
      : figure.chart === "timeline" ? timelineConfig(figure, columns, box)
      : cartesianConfig(figure, columns, box);
    var options = config.options;
    options.responsive = true;
    options.maintainAspectRatio = false;
    options.animation = reduceMotion ? false : { duration: 400 };
    options.interaction = { mode: "nearest", intersect: false, axis: options.indexAxis === "y" ? "y" : "x" };
    options.plugins = options.plugins || {};
    options.plugins.tooltip = { callbacks: { label: tooltipLabel } };
    options.plugins.legend = options.plugins.legend || { position: "bottom", labels: { boxWidth: 12 } };
    return config;
  }

  // Horizontal charts grow with their categories so labels never overlap; others keep the CSS height.
  function sizeBox(box, figure) {
    if (["hbar", "funnel", "timeline"].indexOf(figure.chart) < 0) { return; }
    var count = figure.chart === "timeline"
      ? new Set(figure.rows.map(function (row) { return String(row[figure.x || "lane"]); })).size
      : figure.rows.length;
    var perCategory = box.clientWidth < 520 ? 46 : 34;  // wrapped labels take two or three lines
    box.style.height = Math.max(160, perCategory * count + 90) + "px";
  }

  function draw(box) {
    var source = document.getElementById(box.getAttribute("data-figure-json"));
    var canvas = box.querySelector("canvas");
    if (!source || !canvas || typeof window.Chart !== "function") { return; }
    var figure = JSON.parse(source.textContent);
    if (!figure.rows.length || figure.chart === "none") { return; }
    sizeBox(box, figure);
    box.opsChart = new window.Chart(canvas, configFor(figure, box));
  }

  function drawAll() {
    Array.prototype.forEach.call(document.querySelectorAll(".ops-chart[data-figure-json]"), draw);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", drawAll); } else { drawAll(); }
}());
