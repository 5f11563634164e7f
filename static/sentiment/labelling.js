// One-key labelling: the current article waits for 1/2/3 (or p/u/n); the label is POSTed to
// the JSON endpoint and, once stored, the next article shows. The queue refills from the
// server, least confident first, skipping what is already shown or skipped.
(function () {
  "use strict";
  const form = document.getElementById("label-form");
  const source = document.getElementById("queue-data");
  if (!form || !source) return;
  const KEYS = {"1": "positive", p: "positive", "2": "neutral", u: "neutral", "3": "negative", n: "negative"};
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const $ = (id) => document.getElementById(id);
  const initial = JSON.parse(source.textContent);
  let queue = initial.items;
  const seen = new Set(queue.map((item) => item.article_id));
  let busy = false;

  function pct(p) { return p === null || p === undefined ? "-" : Math.round(100 * p) + "%"; }

  function showProgress(progress) {
    $("label-progress").textContent = progress.unlabelled + " to label · " + progress.labelled +
      " labelled · " + progress.disagreements + " disagreements with the model · " +
      progress.held_out + " held out";
  }

  function render() {
    const item = queue[0];
    $("label-card").hidden = !item;
    $("queue-empty").hidden = !!item;
    if (!item) return;
    $("label-card").dataset.article = item.article_id;
    const title = $("item-title");
    title.textContent = "";
    if (item.url) {
      const link = document.createElement("a");
      link.href = item.url; link.target = "_blank"; link.rel = "noopener noreferrer";
      link.textContent = item.title;
      title.appendChild(link);
    } else {
      title.textContent = item.title;
    }
    $("item-body").textContent = item.body;
    $("item-meta").textContent = [item.source, new Date(item.published_at).toLocaleString()].filter(Boolean).join(" · ");
    $("item-sentiment").textContent = item.sentiment;
    $("item-sentiment").className = "sentiment-" + item.sentiment;
    $("item-confidence").textContent = pct(item.confidence);
    const p = item.probabilities;
    $("item-probabilities").textContent = "positive " + pct(p.positive) + ", neutral " + pct(p.neutral) + ", negative " + pct(p.negative);
    $("item-held-out").checked = false;
  }

  async function refill() {
    if (queue.length > 2) return;
    const params = new URLSearchParams({limit: "5"});
    for (const id of seen) params.append("exclude", id);
    const response = await fetch(form.dataset.queueUrl + "?" + params.toString(), {credentials: "same-origin"});
    if (!response.ok) return;
    const body = await response.json();
    for (const item of body.items) {
      if (!seen.has(item.article_id)) { seen.add(item.article_id); queue.push(item); }
    }
    showProgress(body.progress);
    if (queue.length && $("label-card").hidden) render();
  }

  function addRecent(item, stored) {
    const row = document.createElement("tr");
    row.dataset.article = stored.article;
    if (stored.disagrees) row.className = "disagree";
    const cells = [item.title, stored.label, stored.model_label || "-", stored.held_out ? "yes" : "no", document.querySelector(".sentiment-nav .who").textContent];
    cells.forEach((text, i) => {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (i === 1) cell.className = "sentiment-" + stored.label;
      if (i === 2) cell.className = "label-model";
      row.appendChild(cell);
    });
    const body = document.querySelector("#recent-labels tbody");
    body.insertBefore(row, body.firstChild);
  }

  async function submit(label) {
    const item = queue[0];
    if (!item || busy) return;
    busy = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json"},
        body: JSON.stringify({article: item.article_id, label: label, held_out: $("item-held-out").checked}),
      });
      const body = await response.json();
      const flash = $("label-flash");
      if (!response.ok) {
        flash.className = "error";
        flash.textContent = "Not stored: " + ((body.error && body.error.message) || response.status);
        return;
      }
      flash.className = body.disagrees ? "disagree" : "";
      flash.textContent = body.disagrees
        ? "Stored " + body.label + ": you disagree with the model (" + body.model_label + ")."
        : "Stored " + body.label + ".";
      addRecent(item, body);
      showProgress(body.progress);
      queue.shift();
      render();
    } finally {
      busy = false;  // the next article is on screen: its key may come before the refill ends
    }
    refill().catch(() => {});
  }

  function skip() {
    if (!queue.length) return;
    queue.shift();
    render();
    refill();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof HTMLInputElement && event.target.type === "text") return;
    const key = event.key.toLowerCase();
    if (KEYS[key]) { event.preventDefault(); submit(KEYS[key]); }
    else if (key === "h") { event.preventDefault(); $("item-held-out").checked = !$("item-held-out").checked; }
    else if (key === "s") { event.preventDefault(); skip(); }
  });
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.label) submit(button.dataset.label);
    else if (button.dataset.skip) skip();
  });

  showProgress(initial.progress);
  render();
})();
