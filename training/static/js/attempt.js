/* Công Chức Số — quiz autosave. Saves each answer as soon as it changes through the attempt API;
   answers given while offline wait in localStorage and are sent, in order, when the connection
   returns. The page works without this script (each page of questions saves on "next"). */
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form || !window.fetch || !window.localStorage) { return; }
  var attemptId = form.getAttribute("data-attempt");
  var apiBase = form.getAttribute("data-api");
  var key = "ccs-attempt-" + attemptId;
  var csrf = (form.querySelector("input[name=csrf_token]") || {}).value || "";
  var label = function (name) { return form.getAttribute("data-" + name + "-label") || ""; };
  var connection = document.getElementById("connection");
  var closed = false, sending = false, retryDelay = 2000, retryTimer = null;

  function loadQueue() { try { return JSON.parse(localStorage.getItem(key)) || {}; } catch (e) { return {}; } }
  function storeQueue(q) { try { localStorage.setItem(key, JSON.stringify(q)); } catch (e) { /* storage full */ } }
  function fieldset(slot) { return document.getElementById("slot-" + slot); }
  function stateEl(slot) { var f = fieldset(slot); return f ? f.querySelector(".save-state") : null; }
  function clock(iso) {
    var d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString("vi-VN", {hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: "Asia/Ho_Chi_Minh"});
  }
  function show(slot, text, cls) {
    var el = stateEl(slot);
    if (!el) { return; }
    el.textContent = text;
    el.className = "save-state " + (cls || "muted");
  }
  function setConnection(online) {
    if (!connection) { return; }
    var pending = Object.keys(loadQueue()).length;
    connection.textContent = online ? (pending ? label("pending") : "") : label("offline");
    connection.className = "connection" + (online ? "" : " offline");
  }

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
      var input = fs.querySelector("input[type=text], input:not([type])");
      if (input) { input.value = response || ""; }
    }
  }

  function queueAnswer(slot, response) {
    var q = loadQueue();
    q[slot] = {response: response, t: Date.now()};
    storeQueue(q);
    show(slot, label("pending"), "pending");
    flush();
  }

  function scheduleRetry() {
    if (retryTimer || closed) { return; }
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  function flush() {
    if (sending || closed) { return; }
    var q = loadQueue();
    var slots = Object.keys(q).sort(function (a, b) { return q[a].t - q[b].t; });
    if (!slots.length) { setConnection(true); return; }
    var slot = slots[0], entry = q[slot];
    sending = true;
    fetch(apiBase + slot, {
      method: "PUT", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify({response: entry.response})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) { return {status: res.status, body: body}; });
    }).then(function (r) {
      sending = false;
      var current = loadQueue();
      if (r.status === 200) {
        if (current[slot] && current[slot].t === entry.t) { delete current[slot]; storeQueue(current); }
        show(slot, label("saved") + " " + clock(r.body.saved_at));
        retryDelay = 2000;
        setConnection(true);
        flush();
      } else if (r.status === 409 || r.status === 404) {
        closed = true;
        storeQueue({});
        show(slot, label("closed"), "error");
        if (connection) { connection.textContent = label("closed"); }
      } else if (r.status === 422 || r.status === 400) {
        if (current[slot] && current[slot].t === entry.t) { delete current[slot]; storeQueue(current); }
        show(slot, label("error") + " " + ((r.body.error && r.body.error.message) || ""), "error");
        flush();
      } else {
        setConnection(navigator.onLine !== false);
        scheduleRetry();
      }
    }).catch(function () {
      sending = false;
      setConnection(false);
      scheduleRetry();
    });
  }

  var timers = {};
  form.addEventListener("change", function (event) {
    var fs = event.target.closest("fieldset.question");
    if (fs) { queueAnswer(fs.getAttribute("data-slot"), responseOf(fs)); }
  });
  form.addEventListener("input", function (event) {
    var fs = event.target.closest("fieldset.question");
    if (!fs || event.target.tagName !== "INPUT" || event.target.type === "radio" || event.target.type === "checkbox") { return; }
    var slot = fs.getAttribute("data-slot");
    clearTimeout(timers[slot]);
    timers[slot] = setTimeout(function () { queueAnswer(slot, responseOf(fs)); }, 800);
  });
  window.addEventListener("online", function () { retryDelay = 2000; setConnection(true); flush(); });
  window.addEventListener("offline", function () { setConnection(false); });

  // Answers kept in this browser from an earlier visit (e.g. given offline) go back into the form first.
  var pending = loadQueue();
  Object.keys(pending).forEach(function (slot) {
    var fs = fieldset(slot);
    if (fs) { applyResponse(fs, pending[slot].response); show(slot, label("pending"), "pending"); }
  });
  flush();

  var timer = document.getElementById("timer");
  if (timer) {
    var deadline = new Date(timer.getAttribute("data-deadline")).getTime();
    var tick = function () {
      var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      timer.textContent = label("time-left") + " " + m + ":" + (s < 10 ? "0" : "") + s;
      if (left <= 0) { window.location.reload(); return; }
      setTimeout(tick, 1000);
    };
    tick();
  }
})();
