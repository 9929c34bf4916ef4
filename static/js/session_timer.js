/*
 * The session timer in the header of every page. No build step, no framework.
 *
 * The server keeps the timer (/api/timer/): this script shows it, counts the seconds on
 * from the server's last answer, sends the timer's steps (the header's and the rows'
 * forms, which also work without it), tells the server when the page sees activity, and
 * asks "still working?" once the practice's idle minutes pass without any. Other tabs of
 * this browser hear every change at once (BroadcastChannel); another device's changes
 * show when the page is looked at again (focus, or a visible tab).
 *
 * Times are shown in the practice's time zone (data-zone), never the browser's.
 */
(function () {
  "use strict";

  var root = document.getElementById("session-timer");
  if (!root) { return; }
  var api = root.dataset.api;
  var logUrl = root.dataset.logUrl;
  var zone = root.dataset.zone;
  var csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  var dialog = document.getElementById("timer-idle-dialog");
  var message = root.querySelector(".st-message");
  var state = JSON.parse(document.getElementById("session-timer-state").textContent);
  var receivedAt = Date.now();
  var listeners = [];
  var flushers = [];
  var channel = window.BroadcastChannel ? new window.BroadcastChannel("ccm-session-timer") : null;

  var HEARTBEAT_MS = 30000;  // at most one activity report per 30 s
  var IDLE_CHECK_MS = 15000;
  var lastActivity = Date.now();  // loading a page is activity
  var lastReported = 0;
  var beat = null;
  var askedFor = null;  // the idle episode the dialog was shown for (closing it is an answer for now)

  // -- formatting ----------------------------------------------------------------------

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function clockText(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    return h > 0 ? h + ":" + two(m) + ":" + two(s) : m + ":" + two(s);
  }

  function minutesText(seconds) {
    var minutes = Math.floor(Math.max(0, seconds) / 60);
    return minutes < 1 ? "under a minute" : minutes + " min";
  }

  function wallClock(iso) {
    return new Date(iso).toLocaleTimeString("en-GB", {
      hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone
    });
  }

  function namesText(patients) {
    if (!patients.length) { return "No patient"; }
    return patients[0].name + (patients.length > 1 ? " +" + (patients.length - 1) : "");
  }

  // -- what the timer says now -----------------------------------------------------------

  function timer() { return state.timer; }

  function sinceReceived() { return (Date.now() - receivedAt) / 1000; }

  function workedSeconds() {
    var t = timer();
    if (!t) { return 0; }
    return t.status === "running" ? t.worked_seconds + sinceReceived() : t.worked_seconds;
  }

  function idleSeconds() {
    var t = timer();
    return t && t.status === "idle" ? t.idle_seconds + sinceReceived() : 0;
  }

  function statusText(t) {
    if (t.status === "running") { return "since " + wallClock(t.started_at); }
    if (t.status === "idle") { return "idle since " + wallClock(t.idle_since); }
    return "paused";
  }

  function render() {
    var t = timer();
    root.hidden = !t;
    Array.prototype.forEach.call(document.querySelectorAll("[data-timer-status]"), function (el) {
      el.dataset.timerStatus = t ? t.status : "none";
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-timer-clock]"), function (el) {
      el.textContent = clockText(workedSeconds());
    });
    Array.prototype.forEach.call(document.querySelectorAll("input[name=timer]"), function (el) {
      if (el.closest("[data-timer-step]")) { el.value = t ? t.id : ""; }
    });
    if (!t) {
      if (dialog && dialog.open) { dialog.close(); }
      return;
    }
    root.querySelector(".st-who").textContent = namesText(t.patients);
    root.querySelector(".st-status").textContent = statusText(t);
    if (dialog) {
      if (t.status === "idle") {
        dialog.querySelector("[data-idle-since]").textContent = wallClock(t.idle_since);
        dialog.querySelector("[data-idle-minutes]").textContent = minutesText(idleSeconds());
        if (!dialog.open && askedFor !== t.idle_since) {
          askedFor = t.idle_since;
          dialog.showModal();
        }
      } else if (dialog.open) {
        dialog.close();
      }
    }
  }

  function apply(envelope, fromAnotherTab) {
    state = { timer: envelope.timer || null, server_time: envelope.server_time };
    receivedAt = Date.now();
    render();
    if (!fromAnotherTab && channel) { channel.postMessage(state); }
    listeners.forEach(function (listener) { listener(state); });
  }

  function say(text) { message.textContent = text || ""; }

  // -- talking to the server -------------------------------------------------------------

  var sentSeq = 0;      // requests numbered as sent...
  var appliedSeq = 0;   // ...and an answer older than one applied already is dropped

  function send(method, path, body) {
    var seq = ++sentSeq;
    return window.fetch(api + path, {
      method: method,
      credentials: "same-origin",
      keepalive: true,  // sent even when the page is being left (what was just typed)
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        var stale = seq < appliedSeq;
        if (!stale) { appliedSeq = seq; }
        return { status: response.status, data: data, stale: stale };
      });
    });
  }

  function firstError(data) {
    if (data.detail) { return String(data.detail); }
    for (var field in data) {
      if (Object.prototype.hasOwnProperty.call(data, field)) {
        var value = data[field];
        return (Array.isArray(value) ? value[0] : String(value));
      }
    }
    return "The timer could not do that.";
  }

  /* One step (start, pause, resume, keep-idle, discard, stop, heartbeat): the answer is
     applied; a 409 carries the timer as it really is. What the person asked for says how
     it went; a heartbeat (`quiet`) says nothing. Resolves to the answer. */
  function step(name, body, quiet) {
    var tell = quiet ? function () {} : say;
    return send("POST", name + "/", body || {}).then(function (answer) {
      // A newer answer already shown: its timer is the fresher, but what this step
      // answered is still said.
      var show = answer.stale ? function () {} : apply;
      if (answer.status < 300) {
        tell("");
        if ("timer" in answer.data) { show(answer.data); }
      } else if (answer.status === 409) {
        show(answer.data);
        tell(firstError(answer.data));
      } else if (answer.status === 404) {
        show({ timer: null });
        tell(firstError(answer.data));
      } else {
        tell(firstError(answer.data));
      }
      return answer;
    }, function () {
      tell("The server did not answer: nothing was changed. Try again.");
      return { status: 0, data: {} };
    });
  }

  function refresh() {
    return send("GET", "").then(function (answer) {
      if (answer.status === 200 && !answer.stale) { apply(answer.data); }
    }, function () { /* offline: keep what is shown */ });
  }

  // -- the forms of the steps ----------------------------------------------------------------

  function startBody(form, submitter) {
    var data = new window.FormData(form, submitter);
    var body = {
      patients: data.getAll("patients").map(function (id) { return parseInt(id, 10); })
    };
    ["activity", "note", "outcome", "program"].forEach(function (name) {
      var value = data.get(name);
      if (value !== null && (value !== "" || name === "activity")) { body[name] = value; }
    });
    return body;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter || null;
    var name = (submitter && submitter.dataset.timerStep) || form.dataset.timerStep;
    if (!name) { return; }
    event.preventDefault();
    var then = (submitter && submitter.dataset.then) || form.dataset.then;
    var body = name === "start" ? startBody(form, submitter) : {};
    var t = timer();
    if (name !== "start" && t) { body.timer = t.id; }
    if (submitter) { submitter.disabled = true; }
    // What a form still holds unsent (typed a moment ago) goes first: a step may reload.
    Promise.all(flushers.map(function (flush) { return flush(); })).then(function () {
      return step(name, body);
    }).then(function (answer) {
      if (submitter) { submitter.disabled = false; }
      if (answer.status >= 300 || answer.status === 0) { return; }
      if (then === "log") { window.location.assign(logUrl); }
      else if (then === "reload") { window.location.reload(); }
    });
  });

  var ask = root.querySelector("[data-timer-ask]");
  if (ask && dialog) {
    ask.addEventListener("click", function () { if (!dialog.open) { dialog.showModal(); } });
  }

  // -- activity, and "still working?" ------------------------------------------------------

  function running() { var t = timer(); return t && t.status === "running"; }

  function inactiveSeconds() { return Math.max(0, Math.floor((Date.now() - lastActivity) / 1000)); }

  function report() {
    beat = null;
    if (!running() || lastActivity <= lastReported) { return; }
    lastReported = lastActivity;
    window.sessionStorage.setItem("ccm.timer.reported", String(Date.now()));
    step("heartbeat", { inactive_seconds: inactiveSeconds() }, true);
  }

  function noteActivity() {
    lastActivity = Date.now();
    if (beat !== null || !running()) { return; }
    var sent = parseInt(window.sessionStorage.getItem("ccm.timer.reported") || "0", 10);
    beat = window.setTimeout(report, Math.max(0, sent + HEARTBEAT_MS - Date.now()));
  }

  ["pointerdown", "pointermove", "keydown", "wheel", "scroll", "touchstart"].forEach(function (name) {
    window.addEventListener(name, noteActivity, { passive: true, capture: true });
  });

  // Leaving the page with activity not yet reported: report it on the way out.
  window.addEventListener("pagehide", function () {
    if (beat === null || !running() || !navigator.sendBeacon) { return; }
    var data = new window.FormData();
    data.append("csrfmiddlewaretoken", csrf);
    data.append("inactive_seconds", String(inactiveSeconds()));
    navigator.sendBeacon(api + "heartbeat/", data);
  });

  window.setInterval(function () {
    var t = timer();
    if (!running() || Date.now() - lastActivity < t.idle_minutes * 60000) { return; }
    // Quiet here for the idle minutes: the server knows whether another tab or device
    // was busy, and answers "idle" only when none was.
    step("heartbeat", { inactive_seconds: inactiveSeconds() }, true);
  }, IDLE_CHECK_MS);

  // -- other tabs and devices ----------------------------------------------------------------

  if (channel) {
    channel.onmessage = function (event) { apply(event.data, true); };
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { refresh(); }
  });
  window.addEventListener("focus", refresh);

  window.setInterval(render, 1000);
  render();
  noteActivity();

  /* For the Log time form: what the timer is, what is typed while it runs. */
  window.ccmSessionTimer = {
    state: function () { return state; },
    onChange: function (listener) { listeners.push(listener); },
    /* `flush` returns a promise settled once what it holds unsent is sent. */
    beforeStep: function (flush) { flushers.push(flush); },
    keep: function (fields) {
      var t = timer();
      if (!t) { return Promise.resolve(null); }
      fields.timer = t.id;
      return send("PATCH", "", fields).then(function (answer) {
        if (answer.stale) { return answer; }
        if (answer.status === 200) { apply(answer.data); }
        else { say(firstError(answer.data)); }
        return answer;
      });
    },
    step: step
  };
})();
