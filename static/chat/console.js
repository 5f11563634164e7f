/*
 * Tessera agent console: live waiting list, take / reply / hand back / close, with the bot's
 * retrieval evidence beside each answer. Talks to /ws/agent/ (staff session cookie).
 * All conversation text is put into the page with textContent, never parsed as HTML.
 */
(function () {
  "use strict";

  var ME = document.body.getAttribute("data-username");
  var WS_URL = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent/";
  var BACKOFF_MAX_MS = 30000;

  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    connection: $("connection"),
    waitingList: $("waiting-list"), waitingCount: $("waiting-count"),
    mineList: $("mine-list"), mineCount: $("mine-count"),
    empty: $("empty"), conversation: $("conversation"),
    title: $("conv-title"), meta: $("conv-meta"), status: $("conv-status"),
    take: $("take"), release: $("release"), resolution: $("resolution"), close: $("close"),
    error: $("error"), messages: $("messages"), typing: $("typing"),
    form: $("reply-form"), reply: $("reply"), send: $("send"),
  };

  var state = {
    socket: null, connected: false, attempt: 0,
    currentId: null, current: null, rendered: {}, unread: {}, queue: { waiting: [], mine: [] },
    typingTimer: null, seq: 0, signedOut: false,
  };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fmtTime(iso) {
    if (!iso) return "";
    var t = new Date(iso);
    return isNaN(t) ? "" : t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  function ago(iso) {
    if (!iso) return "";
    var s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.round(s / 60) + " min";
    return Math.round(s / 3600) + " h";
  }
  function shortId(c) { return c.customer_ref ? c.customer_ref.slice(0, 8) : c.public_id.slice(0, 8); }

  function send(frame) {
    if (state.socket && state.connected) { state.socket.send(JSON.stringify(frame)); return true; }
    showError(state.signedOut ? "Not signed in as staff; reload the page to log in again." :
      "Not connected; retrying…");
    return false;
  }

  function showError(text) {
    ui.error.textContent = text || "";
    ui.error.hidden = !text;
  }

  // --- lists -----------------------------------------------------------------------------
  function renderList(list, items, emptyText) {
    list.textContent = "";
    if (!items.length) { list.appendChild(el("li", "none", emptyText)); return; }
    items.forEach(function (c) {
      var li = el("li", "conv");
      li.setAttribute("data-id", String(c.id));
      if (c.id === state.currentId) li.classList.add("active");
      var b = el("button", "conv-open");
      b.type = "button";
      b.appendChild(el("span", "conv-name", "Customer " + shortId(c)));
      b.appendChild(el("span", "conv-reason", c.handoff_reason || c.status));
      b.appendChild(el("span", "conv-age", c.status === "waiting" ? "waiting " + ago(c.waiting_since) : "updated " + ago(c.updated_at)));
      if (state.unread[c.id]) b.appendChild(el("span", "unread", state.unread[c.id]));
      b.addEventListener("click", function () { openConversation(c.id); });
      li.appendChild(b);
      if (c.status === "waiting") {
        var take = el("button", "take-inline", "Take");
        take.type = "button";
        take.addEventListener("click", function () { send({ type: "take", conversation_id: c.id }); });
        li.appendChild(take);
      }
      list.appendChild(li);
    });
  }

  function renderQueue() {
    renderList(ui.waitingList, state.queue.waiting, "Nobody is waiting.");
    renderList(ui.mineList, state.queue.mine, "You have no open conversations.");
    ui.waitingCount.textContent = String(state.queue.waiting.length);
    ui.mineCount.textContent = String(state.queue.mine.length);
    document.title = (state.queue.waiting.length ? "(" + state.queue.waiting.length + ") " : "") + "Agent console — Tessera";
  }

  // --- conversation ----------------------------------------------------------------------
  function openConversation(id) {
    state.unread[id] = 0;
    send({ type: "open", conversation_id: id });
  }

  function applyConversation(c) {
    state.current = c;
    ui.title.textContent = "Customer " + shortId(c) + " · conversation #" + c.id;
    var meta = [];
    if (c.handoff_reason) meta.push("Hand-off: " + c.handoff_reason);
    if (c.assigned_agent) meta.push("Agent: " + c.assigned_agent);
    if (c.resolution) meta.push("Resolution: " + c.resolution);
    if (c.csat) meta.push("Satisfaction: " + c.csat + "/5");
    meta.push("Started " + fmtTime(c.created_at));
    ui.meta.textContent = meta.join(" · ");
    ui.status.textContent = c.status;
    ui.status.setAttribute("data-status", c.status);
    var mine = c.status === "agent" && c.assigned_agent === ME;
    ui.take.hidden = c.status === "closed" || mine;
    ui.take.textContent = c.status === "agent" ? "Take over" : "Take conversation";
    ui.release.hidden = !mine;
    ui.close.disabled = c.status === "closed";
    ui.resolution.disabled = c.status === "closed";
    ui.reply.disabled = !mine;
    ui.send.disabled = !mine;
    ui.reply.placeholder = mine ? "Reply to the customer (Enter sends, Shift+Enter for a new line)" :
      c.status === "closed" ? "This conversation is closed" : "Take the conversation to reply";
  }

  function evidenceBlock(ev) {
    var details = el("details", "evidence");
    var parts = [ev.decision || "?"];
    if (typeof ev.confidence === "number") parts.push("confidence " + ev.confidence.toFixed(2));
    if (ev.intent) parts.push("intent " + ev.intent + (typeof ev.intent_confidence === "number" ? " (" + ev.intent_confidence.toFixed(2) + ")" : ""));
    if (typeof ev.out_of_scope_probability === "number" && ev.out_of_scope_probability >= 0.1) parts.push("out of scope " + ev.out_of_scope_probability.toFixed(2));
    details.appendChild(el("summary", null, "Evidence: " + parts.join(" · ")));
    var entries = ev.entries || [];
    if (entries.length) {
      var table = el("table");
      var head = el("tr");
      ["Entry", "Score", "Retrieval", "Intent P"].forEach(function (h) { head.appendChild(el("th", null, h)); });
      table.appendChild(head);
      entries.forEach(function (e) {
        var tr = el("tr");
        tr.appendChild(el("td", null, "#" + e.entry_id + " " + (e.title || "")));
        [e.score, e.retrieval_score, e.intent_probability].forEach(function (v) {
          tr.appendChild(el("td", "num", typeof v === "number" ? v.toFixed(3) : "—"));
        });
        table.appendChild(tr);
      });
      details.appendChild(table);
    }
    var facts = [];
    if (ev.model_versions) {
      Object.keys(ev.model_versions).forEach(function (k) { facts.push(k + ": " + (ev.model_versions[k] || "none")); });
    }
    if (ev.thresholds) facts.push("thresholds answer " + ev.thresholds.answer + " / suggest " + ev.thresholds.suggest);
    if (ev.latency_ms !== undefined) facts.push(ev.latency_ms + " ms");
    if (facts.length) details.appendChild(el("div", "facts", facts.join(" · ")));
    return details;
  }

  function renderMessage(m) {
    if (state.rendered[m.id]) {
      if (m.feedback !== undefined) setFeedback(state.rendered[m.id], m.feedback);
      return;
    }
    var row = el("div", "msg");
    row.setAttribute("data-sender", m.sender);
    row.setAttribute("data-id", String(m.id));
    var who = m.sender === "agent"
      ? (m.agent_name || "Agent") + (m.agent_username ? " (" + m.agent_username + ")" : "")
      : m.sender.charAt(0).toUpperCase() + m.sender.slice(1);
    var head = el("div", "msg-head");
    head.appendChild(el("span", "msg-who", who + (m.kind && m.kind !== "text" && m.kind !== "system" ? " · " + m.kind : "")));
    head.appendChild(el("span", "msg-time", fmtTime(m.created_at)));
    head.appendChild(el("span", "msg-feedback"));
    row.appendChild(head);
    row.appendChild(el("div", "msg-text", m.text));
    if (m.suggestions && m.suggestions.length) {
      row.appendChild(el("div", "msg-suggestions", "Suggested: " + m.suggestions.map(function (s) { return s.title; }).join(" | ")));
    }
    if (m.sender === "bot" && m.evidence && Object.keys(m.evidence).length) row.appendChild(evidenceBlock(m.evidence));
    setFeedback(row, m.feedback);
    state.rendered[m.id] = row;
    ui.messages.appendChild(row);
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function setFeedback(row, value) {
    var node = row.querySelector(".msg-feedback");
    node.textContent = value === 1 ? "rated helpful" : value === -1 ? "rated not helpful" : "";
    node.setAttribute("data-value", value === 1 ? "up" : value === -1 ? "down" : "");
  }

  function showTyping() {
    ui.typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(function () { ui.typing.hidden = true; }, 5000);
  }

  // --- frames ----------------------------------------------------------------------------
  function onFrame(f) {
    var forCurrent = f.conversation_id !== undefined && f.conversation_id === state.currentId;
    switch (f.type) {
      case "queue":
        state.queue = { waiting: f.waiting, mine: f.mine };
        renderQueue();
        break;
      case "conversation":
        state.currentId = f.conversation.id;
        state.rendered = {};
        ui.messages.textContent = "";
        ui.empty.hidden = true;
        ui.conversation.hidden = false;
        showError("");
        applyConversation(f.conversation);
        f.messages.forEach(renderMessage);
        renderQueue();
        break;
      case "message":
        if (forCurrent) {
          renderMessage(f);
          if (f.sender === "customer") ui.typing.hidden = true;
        } else if (f.sender === "customer") {
          state.unread[f.conversation_id] = (state.unread[f.conversation_id] || 0) + 1;
          renderQueue();
        }
        break;
      case "typing":
        if (forCurrent && f.sender === "customer") showTyping();
        break;
      case "feedback":
        if (forCurrent && state.rendered[f.message_id]) setFeedback(state.rendered[f.message_id], f.value);
        break;
      case "agent_joined": case "agent_left": case "closed": case "handoff": case "csat":
        // The conversation changed hands or state: reload its header and history.
        if (forCurrent) send({ type: "open", conversation_id: state.currentId });
        break;
      case "ack":
        break;
      case "error":
        showError(f.message + " (" + f.code + ")");
        break;
      default:
        break;
    }
  }

  // --- socket ----------------------------------------------------------------------------
  function setConnection(kind, text) {
    ui.connection.setAttribute("data-state", kind);
    ui.connection.textContent = text;
  }

  function connect() {
    setConnection("connecting", state.attempt ? "Reconnecting…" : "Connecting…");
    var socket = new WebSocket(WS_URL);
    state.socket = socket;
    socket.onopen = function () {
      state.connected = true;
      state.attempt = 0;
      setConnection("online", "Live");
      if (state.currentId) send({ type: "open", conversation_id: state.currentId });
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      onFrame(frame);
    };
    socket.onclose = function (event) {
      state.connected = false;
      if (event.code === 4401 || event.code === 4403) {
        // Signed out (maybe in another tab) or not staff: reconnecting cannot help.
        state.signedOut = true;
        setConnection("offline", "Not signed in as staff; reload the page to log in again.");
        return;
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    var delay = Math.min(BACKOFF_MAX_MS, 1000 * Math.pow(2, state.attempt));
    state.attempt += 1;
    var until = Date.now() + delay;
    function tick() {
      var left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      if (left > 0) {
        setConnection("offline", "Offline — reconnecting in " + left + " s");
        setTimeout(tick, Math.max(20, until - Date.now() - (left - 1) * 1000)); // next whole second
      } else {
        connect();
      }
    }
    tick();
  }

  // --- events ----------------------------------------------------------------------------
  ui.take.addEventListener("click", function () { send({ type: "take", conversation_id: state.currentId }); });
  ui.release.addEventListener("click", function () { send({ type: "release", conversation_id: state.currentId }); });
  ui.close.addEventListener("click", function () {
    send({ type: "close", conversation_id: state.currentId, resolution: ui.resolution.value });
  });
  ui.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = ui.reply.value.trim();
    if (!text || !state.currentId) return;
    state.seq += 1;
    if (send({ type: "reply", conversation_id: state.currentId, text: text, client_msg_id: "c" + Date.now() + "-" + state.seq })) {
      ui.reply.value = "";
    }
  });
  ui.reply.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      ui.form.requestSubmit();
    }
  });
  var lastTyping = 0;
  ui.reply.addEventListener("input", function () {
    if (state.currentId && Date.now() - lastTyping > 2000) {
      lastTyping = Date.now();
      send({ type: "typing", conversation_id: state.currentId });
    }
  });
  setInterval(renderQueue, 30000); // keep the "waiting 3 min" ages fresh

  connect();
})();
