/* Công Chức Số — quiz autosave and offline-safe navigation (issues 15 and 16).

   Each answer is saved as soon as it changes, through the attempt API (PUT …/answers/<slot>). It waits
   in localStorage until the server acknowledges it (a 200 means it is committed), so a closed tab, a
   dropped connection or an overloaded server loses nothing:
   - one request at a time, the oldest change first; the last answer given to a question wins;
   - network errors, 429 and 5xx are resent with exponential backoff plus jitter, Retry-After honoured,
     so that a ward coming back online, or a city at an exam start, does not resend in lockstep;
   - 409 (time is up, or the attempt was submitted) stops the queue; 422 shows the server's reason on
     the question.
   The page's buttons (next, previous, go to page, review, submit) are intercepted: while answers wait
   or the network is down the learner stays on the page with a message, and moves on by itself once
   everything is saved (or when the learner presses again). Without this script the page is a plain
   form that saves on each press; the summary page uses the same script to send what is still queued. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-attempt]");
  if (!form || !window.fetch || !window.JSON || !Object.keys) { return; }

  var BASE_DELAY = 1000, MAX_DELAY = 60000, MAX_RETRY_AFTER = 600000;
  // A server that answered this recently is assumed reachable; otherwise a tiny request checks first,
  // because a form POST into a dead network shows the browser's "No internet" page.
  var FRESH_CONTACT = 20000, REQUEST_TIMEOUT = 45000, TYPING_PAUSE = 800;

  var messages = {};
  try { messages = JSON.parse(form.getAttribute("data-messages") || "{}"); } catch (e) { messages = {}; }
  function msg(name, values) {
    var text = messages[name] || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(values[k])); });
    return text;
  }

  var apiBase = form.getAttribute("data-api");  // ends with "/answers/": the slot number follows
  var probeUrl = form.getAttribute("data-probe");
  var storageKey = "ccs-attempt-" + form.getAttribute("data-attempt");
  var csrfInput = form.querySelector("input[name=csrf_token]");
  var csrf = csrfInput ? csrfInput.value : "";
  var connection = document.getElementById("connection");
  var navStatus = document.getElementById("nav-status");

  // ------------------------------------------------------------------ the queue (mirrored in localStorage)
  function readStoredQueue() {
    var raw = null;
    try { raw = JSON.parse(window.localStorage.getItem(storageKey)); } catch (e) { raw = null; }
    var q = {seq: 0, slots: {}};
    if (!raw || typeof raw !== "object") { return q; }
    // The earlier version of this script stored {slot: {response, t}}: keep those answers too.
    var slots = raw.slots && typeof raw.slots === "object" ? raw.slots : raw;
    Object.keys(slots).forEach(function (slot) {
      var entry = slots[slot];
      if (!/^\d+$/.test(slot) || !entry || typeof entry !== "object" || !("response" in entry)) { return; }
      var seq = Number(entry.seq || entry.t) || 0;
      q.slots[slot] = {response: entry.response, seq: seq};
      q.seq = Math.max(q.seq, seq);
    });
    q.seq = Math.max(q.seq, Number(raw.seq) || 0);
    return q;
  }
  var queue = readStoredQueue();
  function persist() {
    try {
      if (Object.keys(queue.slots).length) { window.localStorage.setItem(storageKey, JSON.stringify(queue)); }
      else { window.localStorage.removeItem(storageKey); }
    } catch (e) { /* storage full or refused: the copy in memory is still sent */ }
  }
  function queuedSlots() {
    return Object.keys(queue.slots).sort(function (a, b) { return queue.slots[a].seq - queue.slots[b].seq; });
  }

  // ------------------------------------------------------------------ state
  var inFlight = null;       // {slot, seq, response} or {probe: true}: never more than one request
  var retryTimer = null;
  var retryFloor = 0;        // the server asked (Retry-After) not to be called before this time
  var failures = 0;          // consecutive failed sends, for the backoff
  var problem = null;        // null, "offline", "busy", "session" or "closed"
  var closedMessage = "";
  var recovered = false;     // a problem just ended and everything is saved: say so once
  var lastContact = Date.now();  // the server has just sent this page
  var acked = {};            // slot -> the response the server holds, as JSON
  var savedAt = {};          // slot -> ISO time the server saved it
  var errors = {};           // slot -> what to say about an answer the server refused
  var held = null;           // the navigation waiting for the queue: {name, value} or {reload: true}
  var navNote = "";          // what the navigation area says when nothing is held
  var navigating = false;
  var announcement = "";     // one-off news for the status region (a refused answer)

  function clock(iso) {
    if (iso && !/(Z|[+-]\d\d:?\d\d)$/.test(iso)) { iso += "Z"; }
    var d = iso ? new Date(iso) : new Date();
    var options = {hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Ho_Chi_Minh"};
    try { return d.toLocaleTimeString("vi-VN", options); } catch (e) {
      delete options.timeZone;  // an old browser without time zones: the learner's own clock
      return d.toLocaleTimeString("vi-VN", options);
    }
  }
  function setText(el, text, className) {
    if (!el) { return; }
    if (el.textContent !== text) { el.textContent = text; }
    if (className !== undefined && el.className !== className) { el.className = className; }
  }

  // ------------------------------------------------------------------ what the page says
  function slotState(slot) {
    if (queue.slots[slot]) {
      if (problem === "offline") { return ["pending", msg("waitNetwork")]; }
      if (problem === "busy") { return ["pending", msg("waitServer")]; }
      if (problem === "session") { return ["pending", msg("waitLogin")]; }
      return ["saving", msg("saving")];
    }
    if (errors[slot]) { return ["error", errors[slot]]; }
    if (savedAt[slot]) { return ["saved", msg("saved") + " " + clock(savedAt[slot])]; }
    return null;  // leave what the server wrote ("Chưa trả lời", "Đã lưu lúc …")
  }

  function connectionText() {
    var waiting = Object.keys(queue.slots).length;
    var count = waiting ? " " + msg("waitingCount", {n: waiting}) : "";
    if (problem === "closed") { return closedMessage; }
    if (problem === "session") { return msg("session"); }
    if (problem === "offline") { return msg("offline") + count; }
    if (problem === "busy") { return msg("busy") + count; }
    if (announcement) { return announcement; }
    return recovered && !waiting ? msg("allSaved") : "";
  }

  function navText() {
    if (!held) { return navNote; }
    if (held.reload) { return msg("timeUp"); }
    if (problem === "offline" || navigator.onLine === false) { return msg("holdOffline"); }
    if (problem === "busy") { return msg("holdBusy"); }
    return msg("holdSaving");
  }

  function render() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-save-state]"), function (el) {
      var state = slotState(el.getAttribute("data-save-state"));
      if (state) { setText(el, state[1], (el.getAttribute("data-base-class") || "save-state") + " " + state[0]); }
    });
    setText(connection, connectionText(), "connection" + (problem ? " problem" : ""));
    var nav = navText();
    setText(navStatus, nav, "nav-status" + (nav ? (held || problem ? " holding" : " note") : ""));
  }

  // ------------------------------------------------------------------ sending
  function request(url, options) {
    var controller = window.AbortController ? new AbortController() : null;
    if (controller) { options.signal = controller.signal; }
    var timer = setTimeout(function () { if (controller) { controller.abort(); } }, REQUEST_TIMEOUT);
    return fetch(url, options).then(function (res) { clearTimeout(timer); return res; },
      function (err) { clearTimeout(timer); throw err; });
  }

  function retryAfterMs(res) {
    var value = res.headers.get("Retry-After");
    if (!value) { return 0; }
    var ms = /^\s*\d+\s*$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now();
    return isNaN(ms) ? 0 : Math.min(Math.max(ms, 0), MAX_RETRY_AFTER);
  }

  function schedule(delay) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () { retryTimer = null; pump(); }, delay);
  }

  // Exponential backoff with "equal jitter" (half fixed, half random) so that many learners who lost
  // the same connection do not come back in step; never sooner than the server's Retry-After.
  function retryLater(serverWait) {
    failures += 1;
    var ceiling = Math.min(MAX_DELAY, BASE_DELAY * Math.pow(2, failures - 1));
    var delay = ceiling / 2 + Math.random() * ceiling / 2;
    if (serverWait) {
      retryFloor = Date.now() + serverWait;
      delay = Math.max(delay, serverWait + Math.random() * Math.min(serverWait / 2, 10000));
    }
    schedule(delay);
  }

  function networkFailure() {
    if (problem !== "closed" && problem !== "session") { problem = "offline"; }
    recovered = false;
    retryLater(0);
    render();
  }

  function dropIfUnchanged(sent) {
    var entry = queue.slots[sent.slot];
    if (entry && entry.seq === sent.seq) { delete queue.slots[sent.slot]; persist(); }
  }

  function becameHealthy() {
    failures = 0;
    retryFloor = 0;
    if (problem === "offline" || problem === "busy") { problem = null; recovered = true; }
  }

  function closeQueue(message) {
    problem = "closed";
    closedMessage = message || msg("closed");  // the server's own words: time is up, or submitted
    Object.keys(queue.slots).forEach(function (slot) { errors[slot] = msg("closedSlot"); });
    queue.slots = {};
    persist();  // these answers can never be accepted: do not keep them on a shared computer
    clearTimeout(retryTimer);
    retryTimer = null;
    if (held && !held.reload) {
      held = null;  // tell the learner first; pressing again opens the result
      navNote = msg("closedHold");
    }
  }

  function settle(sent, res, body) {
    var status = res.status, error = (body && body.error) || {};
    lastContact = Date.now();
    if (status === 200 && body && body.saved_at !== undefined && !res.redirected) {
      becameHealthy();
      acked[sent.slot] = JSON.stringify(sent.response);
      savedAt[sent.slot] = body.saved_at;
      delete errors[sent.slot];
      dropIfUnchanged(sent);
    } else if (status === 409) {
      closeQueue(error.message);
    } else if (status === 422 || status === 404 || (status === 400 && error.code !== "csrf")) {
      // The server will never take this answer: show its reason on the question; a new answer retries.
      becameHealthy();
      errors[sent.slot] = msg("notSaved") + " " + (error.message || msg("invalid"));
      announcement = msg("slotError", {n: sent.slot, message: error.message || msg("invalid")});
      dropIfUnchanged(sent);
    } else if (status === 401 || status === 403 || status === 400 || res.redirected) {
      problem = "session";  // signed out: the answers stay here and go out after signing in again
    } else {
      problem = "busy";     // 429, 5xx, a proxy's error page: the server will take it later
      recovered = false;
      retryLater(status === 429 || status >= 500 ? retryAfterMs(res) : 0);
    }
  }

  function send(slot) {
    var entry = queue.slots[slot];
    var sent = {slot: slot, seq: entry.seq, response: entry.response};
    inFlight = sent;
    request(apiBase + slot, {
      method: "PUT", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify({response: entry.response})
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (body) {
        inFlight = null;
        settle(sent, res, body);
        pump();
      });
    }, function () {
      inFlight = null;
      networkFailure();
    });
  }

  // Navigation happens through the form itself, so the server still sees (and saves) the page.
  var actionInput = document.createElement("input");
  actionInput.type = "hidden";
  function proceed() {
    var intent = held;
    held = null;
    navigating = true;
    navNote = msg("moving");
    render();
    if (intent.reload) { window.location.reload(); return; }
    if (intent.name) {
      actionInput.name = intent.name;
      actionInput.value = intent.value;
      form.appendChild(actionInput);
    }
    HTMLFormElement.prototype.submit.call(form);  // no submit event: this is the navigation itself
  }

  function proceedIfReachable() {
    if (navigator.onLine === false) {
      if (problem !== "closed" && problem !== "session") { problem = "offline"; }
      return;  // the "online" event resumes
    }
    if (Date.now() - lastContact < FRESH_CONTACT) { proceed(); return; }
    inFlight = {probe: true};
    request(probeUrl + (probeUrl.indexOf("?") < 0 ? "?" : "&") + "online=" + Date.now(),
      {method: "HEAD", cache: "no-store", credentials: "same-origin"}).then(function () {
      inFlight = null;
      lastContact = Date.now();
      becameHealthy();
      if (held) { proceed(); } else { render(); }
    }, function () {
      inFlight = null;
      networkFailure();
    });
  }

  // The one loop: send the oldest waiting answer; when none waits, carry out a held navigation.
  function pump() {
    if (!inFlight && !retryTimer && !navigating) {
      var waiting = problem === "closed" || problem === "session" ? [] : queuedSlots();
      if (waiting.length) { send(waiting[0]); }
      else if (held) { proceedIfReachable(); }
    }
    render();
  }

  // ------------------------------------------------------------------ answers on the page
  function responseOf(fs) {
    var type = fs.getAttribute("data-type"), slot = fs.getAttribute("data-slot");
    if (type === "single" || type === "truefalse") {
      var checked = fs.querySelector("input[type=radio]:checked");
      return checked ? checked.value : null;
    }
    if (type === "multi") {
      return Array.prototype.map.call(fs.querySelectorAll("input[type=checkbox]:checked"), function (i) { return i.value; });
    }
    if (type === "matching") {
      var result = {};
      Array.prototype.forEach.call(fs.querySelectorAll("select[data-item]"), function (s) {
        if (s.value) { result[s.getAttribute("data-item")] = s.value; }
      });
      return result;
    }
    var input = fs.querySelector("input[name=q" + slot + "]");
    return input && input.value !== "" ? input.value : null;
  }

  function applyResponse(fs, response) {
    var type = fs.getAttribute("data-type");
    if (type === "single" || type === "truefalse") {
      Array.prototype.forEach.call(fs.querySelectorAll("input[type=radio]"), function (i) { i.checked = i.value === response; });
    } else if (type === "multi") {
      Array.prototype.forEach.call(fs.querySelectorAll("input[type=checkbox]"), function (i) {
        i.checked = !!response && response.indexOf(i.value) >= 0;
      });
    } else if (type === "matching") {
      Array.prototype.forEach.call(fs.querySelectorAll("select[data-item]"), function (s) {
        s.value = (response && response[s.getAttribute("data-item")]) || "";
      });
    } else {
      var input = fs.querySelector("input[name=q" + fs.getAttribute("data-slot") + "]");
      if (input) { input.value = response || ""; }
    }
  }

  function queueAnswer(slot, response) {
    if (problem === "closed") {
      errors[slot] = msg("closedSlot");  // the server takes no more answers: say so, keep nothing
      render();
      return;
    }
    var json = JSON.stringify(response);
    var sending = inFlight && inFlight.slot === slot;
    if (acked[slot] === json && !sending) {
      // Back to what the server already holds: nothing to send.
      if (queue.slots[slot]) { delete queue.slots[slot]; persist(); }
      pump();
      return;
    }
    queue.seq += 1;
    queue.slots[slot] = {response: response, seq: queue.seq};
    delete errors[slot];
    announcement = "";
    persist();
    pump();
  }

  var typing = {};
  function commitTyping() {
    Object.keys(typing).forEach(function (slot) {
      clearTimeout(typing[slot]);
      delete typing[slot];
      var fs = document.getElementById("slot-" + slot);
      if (fs) { queueAnswer(slot, responseOf(fs)); }
    });
  }

  form.addEventListener("change", function (event) {
    var fs = event.target.closest("fieldset.question");
    if (!fs) { return; }
    var slot = fs.getAttribute("data-slot");
    clearTimeout(typing[slot]);
    delete typing[slot];
    queueAnswer(slot, responseOf(fs));
  });
  form.addEventListener("input", function (event) {
    var fs = event.target.closest("fieldset.question");
    if (!fs || event.target.tagName !== "INPUT" || event.target.type === "radio" || event.target.type === "checkbox") { return; }
    var slot = fs.getAttribute("data-slot");
    clearTimeout(typing[slot]);
    typing[slot] = setTimeout(function () { delete typing[slot]; queueAnswer(slot, responseOf(fs)); }, TYPING_PAUSE);
  });

  // ------------------------------------------------------------------ navigation
  var lastButton = null;
  form.addEventListener("click", function (event) {
    var button = event.target.closest("button, input[type=submit]");
    if (button && button.type === "submit") { lastButton = button; }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (navigating) { return; }
    var button = event.submitter || lastButton;
    lastButton = null;
    held = {name: (button && button.name) || "", value: (button && button.value) || ""};
    navNote = "";
    announcement = "";
    commitTyping();
    // Pressing again is "try now", except against a server that asked for a pause (Retry-After).
    if (retryTimer && Date.now() >= retryFloor) { clearTimeout(retryTimer); retryTimer = null; }
    pump();
  });

  // A link followed offline would show the browser's error page instead of the quiz.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("main a[href]");
    if (!link || navigator.onLine !== false || link.target || link.getAttribute("href").charAt(0) === "#") { return; }
    event.preventDefault();
    navNote = msg("linkOffline");
    render();
  });

  window.addEventListener("online", function () {
    if (problem === "offline") {
      failures = 0;
      if (!queuedSlots().length && !held) {
        problem = null;
        recovered = true;
      } else if (Date.now() >= retryFloor) {
        schedule(Math.random() * 1000);  // a little jitter, then resend
      }
    }
    render();
  });
  window.addEventListener("offline", function () {
    if (!problem) { problem = "offline"; recovered = false; }
    render();
  });
  document.addEventListener("visibilitychange", function () {
    // Signed in again in another tab: try the waiting answers once more.
    if (document.visibilityState === "visible" && problem === "session") { problem = null; pump(); }
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }  // back from the next page through the browser's cache
    navigating = false;
    held = null;
    navNote = "";
    if (actionInput.parentNode) { actionInput.parentNode.removeChild(actionInput); }
    pump();
  });

  // ------------------------------------------------------------------ start
  // What the server rendered as saved is what it holds; answers still queued here go back in the form.
  Array.prototype.forEach.call(form.querySelectorAll("fieldset.question"), function (fs) {
    var slot = fs.getAttribute("data-slot");
    var state = fs.querySelector("[data-save-state]");
    if (state && state.getAttribute("data-saved-at")) { acked[slot] = JSON.stringify(responseOf(fs)); }
    var entry = queue.slots[slot];
    if (entry && acked[slot] === JSON.stringify(entry.response)) {
      delete queue.slots[slot];  // the server got it (e.g. the page was submitted before the reply came)
    } else if (entry) {
      applyResponse(fs, entry.response);
    }
  });
  persist();
  if (navigator.onLine === false && queuedSlots().length) { problem = "offline"; }
  pump();

  var timer = document.getElementById("timer");
  if (timer) {
    var deadline = new Date(timer.getAttribute("data-deadline")).getTime();
    var firstTick = true;
    var tick = function () {
      var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      setText(timer, msg("timeLeft") + " " + m + ":" + (s < 10 ? "0" : "") + s);
      if (left <= 0) {
        // Time is up: send what waits, then reload (the server shows the result) once it can be
        // reached. Not when the page opened at 0: the server just said time is left, so this clock
        // runs ahead of it, and reloading would only loop.
        if (!firstTick && !navigating && !held) { held = {reload: true}; commitTyping(); pump(); }
        return;
      }
      firstTick = false;
      setTimeout(tick, 1000);
    };
    tick();
  }
})();
