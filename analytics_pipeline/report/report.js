// The report's charts, drawn with Chart.js from the dataset embedded in the page (#report-data).
// Every grain's series is in the file, so the day/week/month switch works offline.
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("report-data").textContent);

  const SURFACE_LABELS = {
    completions: "Completions",
    chat: "Chat",
    remote_agent: "Remote agent",
    ide_agent: "IDE agent",
    cli_interactive: "CLI interactive",
    cli_non_interactive: "CLI non-interactive",
  };
  const SURFACE_COLOURS = {
    completions: "#6366f1",
    chat: "#0ea5e9",
    remote_agent: "#a855f7",
    ide_agent: "#14b8a6",
    cli_interactive: "#f59e0b",
    cli_non_interactive: "#f43f5e",
  };
  const PALETTE = ["#6366f1", "#14b8a6", "#f59e0b", "#f43f5e", "#0ea5e9", "#a855f7", "#84cc16", "#64748b"];
  const ACTIVE = [
    ["dau", "DAU", "#6366f1"],
    ["wau", "WAU (7 days)", "#14b8a6"],
    ["mau", "MAU (28 days)", "#f59e0b"],
  ];

  const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
  const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
  const percent = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });
  const fmt = {
    count: (v) => {
      if (v === null || v === undefined) return "–";
      return Math.abs(v) < 100 ? decimal.format(v) : integer.format(v);
    },
    axis: (v) => compact.format(v),
    rate: (v) => (v === null || v === undefined ? "–" : percent.format(v)),
  };

  // Deterministic drawing: no animation, so what is shown (or printed, or screenshotted) is final.
  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = "#64748b";
  Chart.defaults.borderColor = "rgba(148, 163, 184, 0.22)";
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.position = "bottom";
  Chart.defaults.plugins.legend.labels.boxWidth = 10;
  Chart.defaults.plugins.legend.labels.boxHeight = 10;
  Chart.defaults.plugins.legend.labels.useBorderRadius = true;
  Chart.defaults.plugins.legend.labels.borderRadius = 2;
  // Legends in the datasets' own order (Chart.js sorts them by drawing order otherwise).
  Chart.defaults.plugins.legend.labels.sort = (a, b) => a.datasetIndex - b.datasetIndex;
  Chart.defaults.plugins.tooltip.backgroundColor = "rgba(15, 23, 42, 0.92)";
  Chart.defaults.plugins.tooltip.padding = 10;
  Chart.defaults.plugins.tooltip.cornerRadius = 8;
  Chart.defaults.plugins.tooltip.boxPadding = 4;

  const DAY_MS = 24 * 60 * 60 * 1000;
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  // Under each tooltip: how much of the period is loaded, and whether the report's range cuts it.
  function coverageFooter(series) {
    return (items) => {
      if (!items.length) return "";
      const s = series();
      const i = items[0].dataIndex;
      const loaded = s.days_loaded[i];
      const days = s.days_in_range[i];
      if (loaded === 0) return "Not loaded";
      if (s.grain === "day") return "";
      const length = (Date.parse(s.period_end[i]) - Date.parse(s.period_start[i])) / DAY_MS + 1;
      const lines = [`${loaded} of ${plural(days, "day")} loaded`];
      if (days < length) lines.push(`${plural(days, "day")} of the ${s.grain} in the report's period`);
      return lines;
    };
  }

  function timeOptions(kind, stacked, series) {
    const tick = kind === "rate" ? (v) => percent.format(v) : (v) => fmt.axis(v);
    return {
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { stacked, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 16 } },
        y: { stacked, beginAtZero: true, ticks: { callback: tick, maxTicksLimit: 6 }, border: { display: false } },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (ctx) => {
              const value = kind === "rate" ? fmt.rate(ctx.parsed.y) : fmt.count(ctx.parsed.y);
              return ` ${ctx.dataset.label}: ${value}`;
            },
            footer: coverageFooter(series),
          },
        },
      },
    };
  }

  function line(label, values, colour, extra) {
    return Object.assign(
      {
        type: "line", label, data: values, borderColor: colour, backgroundColor: colour, borderWidth: 2,
        pointRadius: values.length > 45 ? 0 : 2.5, pointHoverRadius: 4,
        cubicInterpolationMode: "monotone", spanGaps: false,
      },
      extra || {},
    );
  }

  function bars(label, values, colour) {
    return { type: "bar", label, data: values, backgroundColor: colour, borderRadius: 3, maxBarThickness: 42 };
  }

  const TIME_SERIES = {
    "chart-active": {
      kind: "count", stacked: false,
      // DAU as bars under the WAU and MAU lines: the daily ups and downs stay visible at a glance.
      datasets: (s) => ACTIVE.map(([key, label, colour]) => (key === "dau"
        ? Object.assign(bars(label, s[key], "rgba(99, 102, 241, 0.55)"), { order: 2 })
        : line(label, s[key], colour, { order: 1 }))),
    },
    "chart-messages": {
      kind: "count", stacked: true,
      datasets: (s) => Object.entries(s.messages_by_surface)
        .map(([k, v]) => bars(SURFACE_LABELS[k], v, SURFACE_COLOURS[k])),
    },
    "chart-lines": {
      kind: "count", stacked: true,
      datasets: (s) => Object.entries(s.lines_by_surface)
        .map(([k, v]) => bars(SURFACE_LABELS[k], v, SURFACE_COLOURS[k])),
    },
    "chart-acceptance": {
      kind: "rate", stacked: false,
      datasets: (s) => [
        line("By count", s.completion_acceptance_rate, "#6366f1"),
        line("By lines", s.line_acceptance_rate, "#14b8a6"),
      ],
    },
    "chart-credits": {
      kind: "count", stacked: true,
      datasets: (s) => Object.entries(s.credits_by_model)
        .map(([k, v], i) => bars(k, v, PALETTE[i % PALETTE.length])),
    },
  };

  // Periods with no loaded day are unknown, not zero: shade them, so a gap never reads as a quiet day.
  const missingPeriods = {
    id: "missingPeriods",
    beforeDatasetsDraw(chart) {
      const s = current();
      const x = chart.scales.x;
      const { top, bottom } = chart.chartArea;
      const width = s.labels.length > 1 ? Math.abs(x.getPixelForValue(1) - x.getPixelForValue(0)) : x.width;
      chart.ctx.save();
      chart.ctx.fillStyle = "rgba(248, 113, 113, 0.12)";
      s.days_loaded.forEach((loaded, i) => {
        if (loaded === 0) chart.ctx.fillRect(x.getPixelForValue(i) - width / 2, top, width, bottom - top);
      });
      chart.ctx.restore();
    },
  };

  const grains = Object.keys(data.timeseries);
  let grain = document.querySelector(".switch button[aria-pressed='true']").dataset.grain;
  const current = () => data.timeseries[grain];
  const charts = {};

  for (const [id, spec] of Object.entries(TIME_SERIES)) {
    const s = current();
    charts[id] = new Chart(document.getElementById(id), {
      type: "bar", // each dataset says whether it is bars or a line
      data: { labels: s.labels, datasets: spec.datasets(s) },
      options: timeOptions(spec.kind, spec.stacked, current),
      plugins: [missingPeriods],
    });
  }

  function setGrain(next) {
    if (!grains.includes(next)) return;
    grain = next;
    for (const button of document.querySelectorAll(".switch button")) {
      button.setAttribute("aria-pressed", String(button.dataset.grain === next));
    }
    const s = current();
    for (const [id, spec] of Object.entries(TIME_SERIES)) {
      const chart = charts[id];
      chart.data.labels = s.labels;
      chart.data.datasets = spec.datasets(s);
      chart.update();
    }
    document.body.dataset.grain = next;
  }

  for (const button of document.querySelectorAll(".switch button")) {
    button.addEventListener("click", () => setGrain(button.dataset.grain));
  }
  document.body.dataset.grain = grain;

  function horizontal(id, labels, datasets) {
    return new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels, datasets },
      options: {
        indexAxis: "y",
        scales: {
          x: {
            beginAtZero: true, ticks: { callback: (v) => fmt.axis(v), maxTicksLimit: 5 }, border: { display: false },
          },
          y: { grid: { display: false } },
        },
        plugins: {
          legend: { display: datasets.length > 1 },
          tooltip: { callbacks: { label: (ctx) => ` ${ctx.dataset.label}: ${fmt.count(ctx.parsed.x)}` } },
        },
      },
    });
  }

  horizontal(
    "chart-surfaces",
    data.surfaces.map((r) => r.label),
    [
      bars("Messages", data.surfaces.map((r) => r.messages), "#6366f1"),
      bars("Lines", data.surfaces.map((r) => r.lines_of_code), "#14b8a6"),
    ],
  );
  for (const [id, rows] of [["chart-editors", data.editors], ["chart-languages", data.languages]]) {
    horizontal(
      id,
      rows.map((r) => r.name),
      [bars("Modified lines", rows.map((r) => r.lines_of_code), "#6366f1")],
    );
  }

  new Chart(document.getElementById("chart-models"), {
    type: "doughnut",
    data: {
      labels: data.models.map((r) => r.model_name),
      datasets: [{
        data: data.models.map((r) => r.credits_consumed),
        backgroundColor: data.models.map((_, i) => PALETTE[i % PALETTE.length]),
        borderColor: "#ffffff",
        borderWidth: 2,
      }],
    },
    options: {
      cutout: "62%",
      plugins: {
        legend: { position: "right" },
        tooltip: {
          callbacks: {
            label: (ctx) => {
              const share = fmt.rate(data.models[ctx.dataIndex].share_of_credits);
              return ` ${ctx.label}: ${fmt.count(ctx.parsed)} (${share})`;
            },
          },
        },
      },
    },
  });
})();
