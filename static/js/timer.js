/*
 * The start/stop timer of the log-time form. No build step, no framework.
 *
 * The running timer is only its start instant, kept in localStorage under a key per user:
 * it survives a page reload, and every open tab shows the same running clock (the
 * `storage` event tells the others when it starts, stops or is discarded).
 * Stop writes the span into the form as two ISO instants (started_at, ended_at) and
 * clears the minutes: the server turns the span into the entry's duration.
 */
(function () {
  "use strict";

  var root = document.getElementById("timer");
  if (!root) { return; }
  var form = root.closest("form");
  var startedInput = form.querySelector("input[name=started_at]");
  var endedInput = form.querySelector("input[name=ended_at]");
  var minutesInput = form.querySelector("input[name=minutes]");
  var clock = document.getElementById("timer-clock");
  var status = document.getElementById("timer-status");
  var startButton = document.getElementById("timer-start");
  var stopButton = document.getElementById("timer-stop");
  var discardButton = document.getElementById("timer-discard");
  var key = "ccm.timer." + (root.dataset.user || "anonymous");
  var ticking = null;

  function runningSince() {
    try {
      var raw = window.localStorage.getItem(key);
      if (!raw) { return null; }
      var started = Date.parse(JSON.parse(raw).started);
      return isNaN(started) ? null : started;
    } catch (error) {
      return null;
    }
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function elapsedText(ms) {
    var seconds = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    return h > 0 ? h + ":" + two(m) + ":" + two(s) : m + ":" + two(s);
  }

  function durationWords(ms) {
    var seconds = Math.max(0, Math.round(ms / 1000));
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    if (m === 0) { return s + " s"; }
    return s === 0 ? m + " min" : m + " min " + s + " s";
  }

  function clockTime(instant) {
    return new Date(instant).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function show(element, visible) { element.hidden = !visible; }

  function render() {
    var started = runningSince();
    if (started !== null) {
      clock.textContent = elapsedText(Date.now() - started);
      root.classList.add("running");
      root.classList.remove("stopped");
      status.textContent = "Running since " + clockTime(started) +
        ". It keeps running if you reload or open another tab.";
      show(startButton, false); show(stopButton, true); show(discardButton, true);
      if (ticking === null) { ticking = window.setInterval(render, 1000); }
      return;
    }
    if (ticking !== null) { window.clearInterval(ticking); ticking = null; }
    root.classList.remove("running");
    show(startButton, true); show(stopButton, false);
    var from = Date.parse(startedInput.value);
    var to = Date.parse(endedInput.value);
    if (!isNaN(from) && !isNaN(to)) {
      root.classList.add("stopped");
      clock.textContent = elapsedText(to - from);
      status.textContent = "Timed " + clockTime(from) + "–" + clockTime(to) + ": " +
        durationWords(to - from) + ". Save to log it, or Discard.";
      show(discardButton, true);
      startButton.textContent = "Start again";
    } else {
      root.classList.remove("stopped");
      clock.textContent = "0:00";
      status.textContent = "";
      show(discardButton, false);
      startButton.textContent = "Start timer";
    }
  }

  function start() {
    startedInput.value = "";
    endedInput.value = "";
    window.localStorage.setItem(key, JSON.stringify({ started: new Date().toISOString() }));
    render();
    stopButton.focus();
  }

  /* Writes the span into the form; false when no timer runs. */
  function stop() {
    var started = runningSince();
    if (started === null) { return false; }
    // Whole seconds, never shorter than the time that passed.
    var from = Math.floor(started / 1000) * 1000;
    var to = Math.max(Math.ceil(Date.now() / 1000) * 1000, from + 1000);
    startedInput.value = new Date(from).toISOString();
    endedInput.value = new Date(to).toISOString();
    if (minutesInput) { minutesInput.value = ""; }
    window.localStorage.removeItem(key);
    render();
    return true;
  }

  function discard() {
    window.localStorage.removeItem(key);
    startedInput.value = "";
    endedInput.value = "";
    render();
    startButton.focus();
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", function () {
    stop();
    var note = form.querySelector("textarea[name=note]");
    (note && !note.value.trim() ? note : form.querySelector("button[type=submit]")).focus();
  });
  discardButton.addEventListener("click", discard);
  // Typing minutes replaces a stopped (not a running) timer's span.
  if (minutesInput) {
    minutesInput.addEventListener("input", function () {
      if (minutesInput.value && runningSince() === null && startedInput.value) {
        startedInput.value = "";
        endedInput.value = "";
        render();
      }
    });
  }
  window.addEventListener("storage", function (event) {
    if (event.key === key || event.key === null) { render(); }
  });

  root.hidden = false;
  render();
  window.ccmTimer = { stop: stop, isRunning: function () { return runningSince() !== null; } };
})();
