/*
 * Tessera support chat widget. Embed with one tag on any page:
 *
 *   <script src="https://chat.example.com/static/chat/widget.js"
 *           data-server="https://chat.example.com" defer></script>
 *
 * Optional attributes: data-title (panel title), data-open="1" (start open),
 * data-storage-key (namespace for localStorage; default derived from the server URL).
 *
 * The widget builds its own DOM inside a shadow root, so the host page's CSS cannot reach
 * it, and it only ever puts message text into the page with textContent (never parsed as HTML).
 * Protocol: docs/chat-protocol.md.
 */
(function () {
  "use strict";

  var script = document.currentScript || (function () {
    var tags = document.querySelectorAll("script[src*='chat/widget.js']");
    return tags[tags.length - 1];
  })();
  if (!script || window.__tesseraChatLoaded) return;
  window.__tesseraChatLoaded = true;

  var scriptUrl = new URL(script.src, location.href);
  var server = (script.getAttribute("data-server") || scriptUrl.origin).replace(/\/+$/, "");
  var serverUrl = new URL(server, location.href);
  var wsBase = (serverUrl.protocol === "https:" ? "wss://" : "ws://") + serverUrl.host;
  var TITLE = script.getAttribute("data-title") || "Chat with us";
  var STORE = "tessera-chat:" + (script.getAttribute("data-storage-key") || serverUrl.host) + ":";

  var BACKOFF_START_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  var TYPING_SEND_INTERVAL_MS = 2000;
  var TYPING_SHOW_MS = { bot: 30000, agent: 6000 };
  var URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

  // --- storage ---------------------------------------------------------------------------
  function load(key, fallback) {
    try {
      var raw = localStorage.getItem(STORE + key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return fallback;
    }
  }
  function save(key, value) {
    try {
      localStorage.setItem(STORE + key, JSON.stringify(value));
    } catch (e) { /* private mode or full: the widget still works for this page */ }
  }

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b); // available on plain http pages too, unlike randomUUID
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10, 16).join("");
  }

  // A conversation is read with the token the server handed this browser when it started
  // (never with its id alone); no token: nothing started yet, the first message starts one.
  var state = {
    token: load("token", null),
    conversationId: null,
    customer: load("customer", null) || uuid4(),
    lastId: load("lastId", 0),
    pending: load("pending", []), // [{client_msg_id, text}] sent but not acknowledged
    open: load("open", script.getAttribute("data-open") === "1"),
    status: "bot",
    socket: null,
    connected: false,
    attempt: 0,
    retryTimer: null,
    haveHistory: false, // rendered a full history on this page: reconnects resume after lastId
    rendered: {}, // message id -> element
    pendingEls: {}, // client_msg_id -> element
    lastTypingSent: 0,
    typingTimer: null,
    maxChars: 1000,
  };
  save("customer", state.customer);

  // --- DOM -------------------------------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Icons are inline SVG built element by element: no icon font, no emoji font needed.
  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 4v-4H6.5A2.5 2.5 0 0 1 4 13.5z",
    down: "M6 9l6 6 6-6",
    up: "M7 11v9H4v-9zM7 11l4-8c1.7 0 2.8 1.2 2.5 2.9L13 9h5.2a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 17 20H7",
    thumbdown: "M17 13V4h3v9zM17 13l-4 8c-1.7 0-2.8-1.2-2.5-2.9L11 15H5.8a2 2 0 0 1-2-2.3l1.2-7A2 2 0 0 1 7 4h10",
  };
  function icon(name, size) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size || 18));
    svg.setAttribute("height", String(size || 18));
    svg.setAttribute("fill", "none");
    svg.setAttribute("stroke", "currentColor");
    svg.setAttribute("stroke-width", "2");
    svg.setAttribute("stroke-linecap", "round");
    svg.setAttribute("stroke-linejoin", "round");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  var host = document.createElement("tessera-chat");
  ["position:fixed", "right:0", "bottom:0", "z-index:2147483000", "display:block",
    "width:0", "height:0", "visibility:hidden"].forEach(function (rule) {
    var parts = rule.split(":");
    host.style.setProperty(parts[0], parts[1], "important");
  });
  var shadow = host.attachShadow({ mode: "open" });
  var css = el("link");
  css.rel = "stylesheet";
  css.href = new URL("widget.css", scriptUrl).href; // beside widget.js, wherever static lives
  css.onload = css.onerror = function () { host.style.setProperty("visibility", "visible", "important"); };
  shadow.appendChild(css);

  var root = el("div", "tw-root");
  var launcher = el("button", "tw-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-label", "Open chat");
  var launcherIcon = el("span", "tw-launcher-icon");
  launcherIcon.appendChild(icon("chat", 26));
  launcher.appendChild(launcherIcon);
  var badge = el("span", "tw-badge");
  badge.hidden = true;
  launcher.appendChild(badge);

  var panel = el("section", "tw-panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", TITLE);
  var header = el("header", "tw-header");
  var titleBox = el("div", "tw-title-box");
  titleBox.appendChild(el("div", "tw-title", TITLE));
  var statusLine = el("div", "tw-status", "Connecting\u2026");
  statusLine.setAttribute("data-state", "connecting");
  statusLine.setAttribute("aria-live", "polite");
  titleBox.appendChild(statusLine);
  var closeBtn = el("button", "tw-close", "\u00D7");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", "Close chat");
  header.appendChild(titleBox);
  header.appendChild(closeBtn);

  var log = el("div", "tw-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");

  var typing = el("div", "tw-typing");
  typing.hidden = true;
  var dots = el("span", "tw-dots");
  dots.appendChild(el("span"));
  dots.appendChild(el("span"));
  dots.appendChild(el("span"));
  typing.appendChild(dots);
  var typingLabel = el("span", "tw-typing-label", "Assistant is typing\u2026");
  typing.appendChild(typingLabel);

  var notice = el("div", "tw-notice");
  notice.hidden = true;

  var csat = el("div", "tw-csat");
  csat.hidden = true;
  csat.appendChild(el("div", "tw-csat-label", "How satisfied were you with this conversation?"));
  var csatButtons = el("div", "tw-csat-buttons");
  [1, 2, 3, 4, 5].forEach(function (score) {
    var b = el("button", "tw-csat-score", score);
    b.type = "button";
    b.setAttribute("aria-label", score + " out of 5");
    b.addEventListener("click", function () { send({ type: "csat", score: score }); });
    csatButtons.appendChild(b);
  });
  csat.appendChild(csatButtons);

  var actions = el("div", "tw-actions");
  var handoffBtn = el("button", "tw-handoff", "Talk to a person");
  handoffBtn.type = "button";
  var newBtn = el("button", "tw-new", "Start a new conversation");
  newBtn.type = "button";
  newBtn.hidden = true;
  actions.appendChild(handoffBtn);
  actions.appendChild(newBtn);

  var form = el("form", "tw-form");
  var input = el("textarea", "tw-input");
  input.rows = 1;
  input.placeholder = "Type your question\u2026";
  input.setAttribute("aria-label", "Your message");
  var sendBtn = el("button", "tw-send", "Send");
  sendBtn.type = "submit";
  form.appendChild(input);
  form.appendChild(sendBtn);

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(notice);
  panel.appendChild(csat);
  panel.appendChild(actions);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);
  shadow.appendChild(root);

  function attach() { (document.body || document.documentElement).appendChild(host); }
  if (document.body) attach(); else document.addEventListener("DOMContentLoaded", attach);

  // --- rendering -------------------------------------------------------------------------
  function appendText(node, text) {
    // URLs become links; everything else stays a text node. No HTML is ever parsed.
    var last = 0;
    String(text).replace(URL_RE, function (url, index) {
      if (index > last) node.appendChild(document.createTextNode(text.slice(last, index)));
      var a = el("a", "tw-link", url);
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
      node.appendChild(a);
      last = index + url.length;
      return url;
    });
    if (last < text.length) node.appendChild(document.createTextNode(text.slice(last)));
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function showNotice(text, kind) {
    notice.textContent = text || "";
    notice.setAttribute("data-kind", kind || "info");
    notice.hidden = !text;
  }

  function senderLabel(m) {
    if (m.sender === "agent") return m.agent_name || "Support agent";
    if (m.sender === "bot") return "Assistant";
    return "";
  }

  function setFeedback(bubble, value) {
    var up = bubble.querySelector(".tw-thumb-up");
    var down = bubble.querySelector(".tw-thumb-down");
    if (!up) return;
    up.setAttribute("aria-pressed", value === 1 ? "true" : "false");
    down.setAttribute("aria-pressed", value === -1 ? "true" : "false");
  }

  function buildMessage(m) {
    var bubble = el("div", "tw-msg");
    bubble.setAttribute("data-sender", m.sender);
    bubble.setAttribute("data-kind", m.kind || "text");
    var label = senderLabel(m);
    if (label) bubble.appendChild(el("div", "tw-sender", label));
    var body = el("div", "tw-text");
    appendText(body, m.text || "");
    bubble.appendChild(body);

    if (m.suggestions && m.suggestions.length) {
      var quick = el("div", "tw-quick");
      m.suggestions.forEach(function (s) {
        var b = el("button", "tw-quick-reply", s.title);
        b.type = "button";
        b.addEventListener("click", function () { sendMessage(s.title); });
        quick.appendChild(b);
      });
      bubble.appendChild(quick);
    }
    if (m.kind === "handoff_offer") {
      var offer = el("button", "tw-quick-reply tw-offer", "Talk to a person");
      offer.type = "button";
      offer.disabled = state.status !== "bot"; // an old offer, once a person was asked for
      offer.addEventListener("click", requestHandoff);
      var row = el("div", "tw-quick");
      row.appendChild(offer);
      bubble.appendChild(row);
    }
    if (m.sender === "bot" && (m.kind === "answer" || m.kind === "suggestions")) {
      var thumbs = el("div", "tw-thumbs");
      [[1, "tw-thumb-up", "up", "Helpful"], [-1, "tw-thumb-down", "thumbdown", "Not helpful"]]
        .forEach(function (t) {
          var b = el("button", "tw-thumb " + t[1]);
          b.appendChild(icon(t[2], 16));
          b.type = "button";
          b.title = t[3];
          b.setAttribute("aria-label", t[3]);
          b.addEventListener("click", function () {
            setFeedback(bubble, t[0]);
            send({ type: "feedback", message_id: m.id, value: t[0] });
          });
          thumbs.appendChild(b);
        });
      bubble.appendChild(thumbs);
    }
    var meta = el("div", "tw-meta");
    bubble.appendChild(meta);
    if (m.id) bubble.setAttribute("data-id", String(m.id));
    if (m.created_at) {
      var t = new Date(m.created_at);
      if (!isNaN(t)) meta.textContent = t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    setFeedback(bubble, m.feedback);
    return bubble;
  }

  function renderMessage(m) {
    var existing = state.rendered[m.id];
    if (existing && !existing.__provisional) return;
    // Our own message: replace its "sending" bubble (or the acked one) in place.
    var mine = existing || (m.client_msg_id && state.pendingEls[m.client_msg_id]);
    var bubble = buildMessage(m);
    if (mine && mine.parentNode === log) {
      log.replaceChild(bubble, mine);
    } else {
      log.appendChild(bubble);
    }
    if (m.client_msg_id) {
      delete state.pendingEls[m.client_msg_id];
      dropPending(m.client_msg_id);
    }
    state.rendered[m.id] = bubble;
    if (m.id > state.lastId) {
      state.lastId = m.id;
      save("lastId", m.id);
    }
    if (m.sender === "bot" || m.sender === "agent") {
      hideTyping();
      if (!state.open) {
        badge.hidden = false;
        badge.textContent = String((parseInt(badge.textContent, 10) || 0) + 1);
      }
    }
    scrollDown();
  }

  function renderPending(p) {
    var bubble = buildMessage({ sender: "customer", kind: "text", text: p.text });
    bubble.classList.add("tw-pending");
    bubble.setAttribute("data-client-msg-id", p.client_msg_id);
    bubble.querySelector(".tw-meta").textContent = "Sending\u2026";
    state.pendingEls[p.client_msg_id] = bubble;
    log.appendChild(bubble);
    scrollDown();
  }

  function dropPending(clientMsgId) {
    state.pending = state.pending.filter(function (p) { return p.client_msg_id !== clientMsgId; });
    save("pending", state.pending);
  }

  function showTyping(sender) {
    typingLabel.textContent = sender === "agent" ? "Agent is typing\u2026" : "Assistant is typing\u2026";
    typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, TYPING_SHOW_MS[sender] || 6000);
    scrollDown();
  }
  function hideTyping() {
    typing.hidden = true;
    clearTimeout(state.typingTimer);
  }

  function applyStatus(status, agentName) {
    if (status !== state.status && notice.getAttribute("data-kind") === "error") {
      showNotice(""); // "A person is already on the way" is stale once the status moved on
    }
    state.status = status;
    root.setAttribute("data-status", status);
    handoffBtn.hidden = status !== "bot";
    Array.prototype.forEach.call(log.querySelectorAll(".tw-offer"), function (b) {
      b.disabled = status !== "bot";
    });
    var closed = status === "closed";
    newBtn.hidden = !closed;
    input.disabled = closed;
    sendBtn.disabled = closed;
    input.placeholder = closed ? "This conversation is closed" :
      status === "waiting" ? "A person will be with you shortly\u2026" :
      status === "agent" ? "Message " + (agentName || "the agent") + "\u2026" :
      "Type your question\u2026";
    if (!closed) csat.hidden = true;
  }

  function setConnection(kind, text) {
    statusLine.setAttribute("data-state", kind);
    statusLine.textContent = text;
    root.setAttribute("data-connection", kind);
  }

  function setOpen(open) {
    state.open = open;
    if (open && !state.socket && !state.retryTimer) connect(); // the first opening connects
    save("open", open);
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    root.classList.toggle("tw-is-open", open);
    launcherIcon.textContent = "";
    launcherIcon.appendChild(icon(open ? "down" : "chat", 26));
    if (open) {
      badge.hidden = true;
      badge.textContent = "";
      scrollDown();
      setTimeout(function () { input.focus(); }, 0);
    }
  }

  // --- socket ----------------------------------------------------------------------------
  function send(frame) {
    if (state.socket && state.connected) {
      state.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  // Characters as the server counts them: code points, so an emoji is one, not two.
  function charCount(text) { return Array.from(text).length; }

  /** Send `text`; false when it was refused here (too long), so the input keeps it. */
  function sendMessage(text) {
    text = String(text || "").trim();
    if (!text) return true;
    var count = charCount(text);
    if (count > state.maxChars) {
      showNotice("Messages are limited to " + state.maxChars + " characters; this one has " +
        count + ".", "error");
      return false;
    }
    showNotice("");
    var p = { client_msg_id: uuid4(), text: text };
    state.pending.push(p);
    save("pending", state.pending);
    renderPending(p);
    send({ type: "message", text: p.text, client_msg_id: p.client_msg_id });
    return true;
  }

  function resendPending() {
    state.pending.forEach(function (p) {
      if (!state.pendingEls[p.client_msg_id]) renderPending(p);
      send({ type: "message", text: p.text, client_msg_id: p.client_msg_id });
    });
  }

  function requestHandoff() {
    send({ type: "handoff" });
  }

  function markFailed(clientMsgId, text) {
    var failed = state.pending.filter(function (p) { return p.client_msg_id === clientMsgId; })[0];
    // The server refused it: give the text back to the customer instead of losing it.
    if (failed && !input.value) input.value = failed.text;
    var bubble = state.pendingEls[clientMsgId];
    if (bubble) {
      bubble.classList.remove("tw-pending");
      bubble.classList.add("tw-failed");
      bubble.querySelector(".tw-meta").textContent = "Not sent: " + text;
      delete state.pendingEls[clientMsgId];
    }
    dropPending(clientMsgId);
  }

  function onFrame(f) {
    switch (f.type) {
      case "history": {
        if (f.limits && f.limits.max_message_chars) state.maxChars = f.limits.max_message_chars;
        if (f.after_id === null || f.after_id === undefined) {
          // A full history (page load, or the server forgot us): start the log over.
          log.textContent = "";
          state.rendered = {};
          state.pendingEls = {};
        }
        f.messages.forEach(renderMessage);
        state.haveHistory = true;
        var c = f.conversation || {};
        state.conversationId = c.id || null;
        applyStatus(c.status || "bot", c.agent_name);
        if (c.status === "closed") {
          csat.hidden = c.csat !== null && c.csat !== undefined;
        }
        resendPending();
        break;
      }
      case "conversation_started":
        // Our first message started a conversation: keep its token to come back to it.
        state.token = f.token;
        state.conversationId = f.conversation.id;
        save("token", f.token);
        break;
      case "message":
        renderMessage(f);
        break;
      case "ack": {
        var bubble = state.pendingEls[f.client_msg_id];
        dropPending(f.client_msg_id);
        if (bubble && !state.rendered[f.message_id]) {
          bubble.classList.remove("tw-pending");
          bubble.setAttribute("data-id", String(f.message_id));
          bubble.querySelector(".tw-meta").textContent = "Sent";
          bubble.__provisional = true; // the broadcast copy, with its time, replaces it
          state.rendered[f.message_id] = bubble;
          delete state.pendingEls[f.client_msg_id];
          if (f.message_id > state.lastId) { state.lastId = f.message_id; save("lastId", f.message_id); }
        } else if (bubble) {
          bubble.remove(); // the saved copy is already on screen (history after a reconnect)
          delete state.pendingEls[f.client_msg_id];
        }
        break;
      }
      case "typing":
        if (f.sender === "bot" || f.sender === "agent") {
          if (f.active === false) hideTyping(); else showTyping(f.sender);
        }
        break;
      case "feedback": {
        var target = state.rendered[f.message_id];
        if (target) setFeedback(target, f.value);
        break;
      }
      case "handoff":
        applyStatus("waiting");
        hideTyping();
        break;
      case "agent_joined":
        applyStatus("agent", f.agent_name);
        hideTyping();
        break;
      case "agent_left":
        applyStatus("bot");
        break;
      case "closed":
        applyStatus("closed");
        hideTyping();
        csat.hidden = !f.csat_requested;
        break;
      case "csat":
        csat.hidden = true;
        showNotice("Thank you for your feedback!", "info");
        break;
      case "error":
        if (f.client_msg_id && state.pendingEls[f.client_msg_id]) {
          if (f.code === "rate_limited") {
            var wait = Math.max(1, f.retry_after_s || 5);
            state.pendingEls[f.client_msg_id].querySelector(".tw-meta").textContent =
              "Waiting " + wait + " s to send\u2026";
            var id = f.client_msg_id;
            setTimeout(function () {
              var p = state.pending.filter(function (x) { return x.client_msg_id === id; })[0];
              if (p) send({ type: "message", text: p.text, client_msg_id: p.client_msg_id });
            }, wait * 1000);
          } else {
            markFailed(f.client_msg_id, f.message);
          }
        }
        if (f.code === "conversation_closed") applyStatus("closed");
        if (f.code === "invalid_token") {
          forgetConversation(); // deleted or never ours: start afresh, keep what is unsent
          resendPending();
          break;
        }
        if (f.code !== "rate_limited" || !f.client_msg_id) showNotice(f.message, "error");
        break;
      default:
        break; // newer server, older widget: ignore frames we do not know
    }
  }

  function hello() {
    // The token travels in the first frame, never in the URL (URLs end up in logs).
    var frame = { type: "hello", customer: state.customer };
    if (state.token) frame.token = state.token;
    if (state.token && state.haveHistory && state.lastId) frame.after_id = state.lastId;
    send(frame);
  }

  function connect() {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    var url = wsBase + "/ws/chat/";
    setConnection("connecting", state.attempt ? "Reconnecting\u2026" : "Connecting\u2026");
    var socket;
    try {
      socket = new WebSocket(url);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.socket = socket;
    socket.onopen = function () {
      state.connected = true;
      state.attempt = 0;
      setConnection("online", "Online");
      hello();
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      onFrame(frame);
    };
    socket.onclose = function () {
      if (state.socket !== socket) return;
      state.connected = false;
      state.socket = null;
      scheduleReconnect();
    };
    socket.onerror = function () { /* onclose follows and reconnects */ };
  }

  function scheduleReconnect() {
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * Math.pow(2, state.attempt));
    delay = Math.round(delay * (0.8 + Math.random() * 0.4)); // jitter: not every tab at once
    state.attempt += 1;
    var until = Date.now() + delay;
    function tick() {
      var left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      setConnection("offline", "Offline \u2014 reconnecting in " + left + " s");
      if (left > 0) state.retryTimer = setTimeout(tick, 1000);
      else connect();
    }
    tick();
  }

  function forgetConversation() {
    state.token = null;
    state.conversationId = null;
    state.lastId = 0;
    state.haveHistory = false;
    save("token", null);
    save("lastId", 0);
    log.textContent = "";
    state.rendered = {};
    state.pendingEls = {};
    csat.hidden = true;
    applyStatus("bot");
  }

  function newConversation() {
    forgetConversation();
    state.pending = [];
    save("pending", []);
    showNotice("");
    if (state.connected) hello(); // no token: the socket leaves the old conversation
    else { state.attempt = 0; connect(); }
  }

  // --- events ----------------------------------------------------------------------------
  launcher.addEventListener("click", function () { setOpen(!state.open); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  handoffBtn.addEventListener("click", requestHandoff);
  newBtn.addEventListener("click", newConversation);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    // Cleared only once sent: refused here (too long), it stays, with the reason above it.
    if (sendMessage(input.value)) input.value = "";
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (input.value && now - state.lastTypingSent > TYPING_SEND_INTERVAL_MS) {
      state.lastTypingSent = now;
      send({ type: "typing" });
    }
  });
  window.addEventListener("online", function () {
    if (!state.connected && (state.socket || state.retryTimer)) { state.attempt = 0; connect(); }
  });
  window.addEventListener("storage", function (event) {
    // Another tab started the conversation this tab has not joined yet: follow it.
    if (event.key !== STORE + "token" || state.token) return;
    var token = load("token", null);
    if (token) { state.token = token; state.haveHistory = false; hello(); }
  });

  applyStatus("bot");
  setOpen(state.open);
  // A page view connects only for a conversation to resume (or an open panel, above): a
  // widget nobody opens costs the server nothing.
  if (state.token && !state.socket) connect();

  // A small handle for the host page (and tests): open/close the panel and read status.
  window.TesseraChat = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    conversationId: function () { return state.conversationId; },
    connected: function () { return state.connected; },
  };
})();
