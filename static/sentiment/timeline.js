// A topic's timeline: stacked positive / neutral / negative volumes per bucket, the negative
// share as a line on its own axis, and one marker per alert (chartjs-plugin-annotation).
// First data comes embedded in the page (#timeline-data); it refreshes from the JSON endpoint.
(function () {
  "use strict";
  const REFRESH_MS = 30000;
  const canvas = document.getElementById("timeline-chart");
  const source = document.getElementById("timeline-data");
  if (!canvas || !source || !window.Chart) return;

  function bucketLabel(iso, bucketSeconds) {
    const d = new Date(iso);
    const time = d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
    if (bucketSeconds >= 3600) {
      return d.toLocaleDateString([], {month: "short", day: "numeric"}) + " " + time;
    }
    return time;
  }

  // Index of the bucket holding `iso` (buckets are contiguous from data.start).
  function bucketIndex(data, iso) {
    const offset = (new Date(iso) - new Date(data.start)) / 1000;
    const index = Math.floor(offset / data.bucket_seconds);
    return Math.max(0, Math.min(data.buckets.length - 1, index));
  }

  function alertAnnotations(data) {
    const annotations = {};
    for (const alert of data.alerts) {
      const fired = bucketIndex(data, alert.fired_at);
      annotations["alert-" + alert.id] = {
        type: "line",
        xScaleID: "x",
        xMin: fired,
        xMax: fired,
        borderColor: "#b71c1c",
        borderWidth: 2,
        borderDash: [6, 4],
        label: {
          display: true,
          content: "alert: " + alert.rule + " (" + alert.severity + ")",
          position: "start",
          backgroundColor: "rgba(183, 28, 28, 0.85)",
          font: {size: 11},
        },
        alertId: alert.id,
      };
      if (alert.resolved_at) {
        annotations["alert-" + alert.id + "-span"] = {
          type: "box",
          xScaleID: "x",
          xMin: fired,
          xMax: bucketIndex(data, alert.resolved_at),
          backgroundColor: "rgba(198, 40, 40, 0.08)",
          borderWidth: 0,
        };
      }
    }
    return annotations;
  }

  function chartData(data) {
    const count = (key) => data.buckets.map((b) => b[key]);
    return {
      labels: data.buckets.map((b) => bucketLabel(b.start, data.bucket_seconds)),
      datasets: [
        {type: "bar", label: "positive", data: count("positive"), backgroundColor: "#66bb6a", stack: "volume", yAxisID: "y", order: 2},
        {type: "bar", label: "neutral", data: count("neutral"), backgroundColor: "#b0bec5", stack: "volume", yAxisID: "y", order: 2},
        {type: "bar", label: "negative", data: count("negative"), backgroundColor: "#e53935", stack: "volume", yAxisID: "y", order: 2},
        {
          type: "line",
          label: "negative share %",
          // Only where enough articles were scored (share_min_articles): a lone negative
          // headline in a quiet slot would draw a 100 % spike.
          data: data.buckets.map((b) =>
            b.negative_share === null || b.positive + b.neutral + b.negative < (data.share_min_articles || 1)
              ? null
              : Math.round(1000 * b.negative_share) / 10),
          borderColor: "#6a1b9a",
          backgroundColor: "#6a1b9a",
          pointRadius: 3,
          spanGaps: false,  // no line across periods without scored articles
          yAxisID: "share",
          order: 1,
        },
      ],
    };
  }

  function summary(data) {
    let total = 0, negative = 0;
    for (const b of data.buckets) { total += b.positive + b.neutral + b.negative + b.unscored; negative += b.negative; }
    const el = document.getElementById("timeline-summary");
    if (el) el.textContent = total + " articles, " + negative + " negative, " + data.alerts.length + " alert(s) in range" + (data.source ? " from " + data.source : "") + ".";
  }

  let data = JSON.parse(source.textContent);
  const chart = new Chart(canvas, {
    data: chartData(data),
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: {mode: "index", intersect: false},
      scales: {
        x: {stacked: true, ticks: {autoSkip: true, maxTicksLimit: 12}, title: {display: true, text: "period start (your local time)"}},
        y: {stacked: true, beginAtZero: true, title: {display: true, text: "articles"}},
        share: {position: "right", min: 0, max: 100, grid: {drawOnChartArea: false}, title: {display: true, text: "negative share %"}},
      },
      plugins: {annotation: {annotations: alertAnnotations(data)}},
    },
  });
  summary(data);

  async function refresh() {
    const params = new URLSearchParams(window.location.search);
    const response = await fetch(canvas.dataset.apiUrl + "?" + params.toString(), {
      credentials: "same-origin",
      headers: {Accept: "application/json"},
    });
    if (!response.ok) return;
    data = await response.json();
    const fresh = chartData(data);
    chart.data.labels = fresh.labels;
    fresh.datasets.forEach((d, i) => { chart.data.datasets[i].data = d.data; });
    chart.options.plugins.annotation.annotations = alertAnnotations(data);
    chart.update();
    summary(data);
  }
  window.setInterval(() => { refresh().catch(() => {}); }, REFRESH_MS);
})();
