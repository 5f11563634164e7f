// Demo shop front-end: what a shop's own page would do with the recommender's REST API.
// It sends the shopper's views and clicks to POST events/ and fills the "for you" and
// "similar items" rows from GET users/<id>/recommendations/ and items/<id>/similar/.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("shop-config").textContent);
  const ROW_SIZE = 8;

  function eventId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  async function api(path, options) {
    const response = await fetch(config.api + path, {
      ...options,
      headers: { "X-Api-Key": config.key, "Content-Type": "application/json" },
      credentials: "omit",
    });
    if (!response.ok) {
      throw new Error(`${response.status} ${response.statusText}`);
    }
    return response.status === 204 ? null : response.json();
  }

  function sendEvents(events, { keepalive = false } = {}) {
    const body = {
      events: events.map((e) => ({
        event_id: eventId(),
        user_id: config.user_id,
        item_id: e.item,
        type: e.type,
        timestamp: new Date().toISOString(),
      })),
    };
    return api("events/", { method: "POST", body: JSON.stringify(body), keepalive });
  }

  function productUrl(externalId) {
    return config.product_url.replace("__id__", encodeURIComponent(externalId));
  }

  function card(item) {
    const link = document.createElement("a");
    link.className = "card rec-card";
    link.href = productUrl(item.item_id);
    link.dataset.item = item.item_id;
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = item.title;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = item.category || "";
    const reason = document.createElement("div");
    reason.className = "reason";
    reason.textContent = item.reason || "";
    link.append(title, meta, reason);
    return link;
  }

  function fill(row, data) {
    row.replaceChildren(...data.items.map(card));
    if (!data.items.length) {
      const empty = document.createElement("span");
      empty.className = "row-status";
      empty.textContent = "Nothing to suggest yet: look around the shop.";
      row.append(empty);
    }
    row.dataset.items = data.items.map((i) => i.item_id).join(",");
    row.dataset.requestId = data.request_id || "";
    row.dataset.state = "ready";
  }

  function failed(row, error) {
    const status = document.createElement("span");
    status.className = "row-status";
    status.textContent = `Recommendations unavailable (${error.message}).`;
    row.replaceChildren(status);
    row.dataset.state = "error";
  }

  async function loadForYou() {
    const row = document.getElementById("for-you");
    const query = new URLSearchParams({ k: ROW_SIZE });
    if (config.item_id) query.set("context_item", config.item_id);
    try {
      const data = await api(
        `users/${encodeURIComponent(config.user_id)}/recommendations/?${query}`,
      );
      fill(row, data);
      const model = document.getElementById("for-you-model");
      const parts = [];
      if (data.model_version) parts.push(`model ${data.model_version}`);
      if (data.variant) parts.push(`A/B variant ${data.variant}`);
      model.textContent = parts.join(" · ");
    } catch (error) {
      failed(row, error);
    }
  }

  async function loadSimilar() {
    const row = document.getElementById("similar");
    if (!row || !config.item_id) return;
    try {
      fill(row, await api(`items/${encodeURIComponent(config.item_id)}/similar/?k=${ROW_SIZE}`));
    } catch (error) {
      failed(row, error);
    }
  }

  // A click on a recommended product is an event of its own (it is what A/B reports count);
  // the product page it opens then records the view.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.rec-card");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey) return;
    event.preventDefault();
    sendEvents([{ type: "click", item: link.dataset.item }], { keepalive: true })
      .catch(() => {})
      .finally(() => {
        window.location.href = link.href;
      });
  });

  function cartButton(id, type, message) {
    const button = document.getElementById(id);
    if (!button) return;
    button.addEventListener("click", async () => {
      const status = document.getElementById("cart-status");
      try {
        await sendEvents([{ type, item: config.item_id }]);
        status.textContent = message;
        await loadForYou();
      } catch (error) {
        status.textContent = `Not recorded (${error.message}).`;
      }
    });
  }
  cartButton("add-to-cart", "add_to_cart", "Added to your cart.");
  cartButton("buy-now", "purchase", "Thank you for your order!");

  async function start() {
    if (config.item_id) {
      try {
        await sendEvents([{ type: "view", item: config.item_id }]);
      } catch (error) {
        console.warn("view not recorded", error);
      }
    }
    await Promise.all([loadForYou(), loadSimilar()]);
  }
  start();
})();
