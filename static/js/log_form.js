/*
 * The log-time form's helpers, all optional (the form works without JavaScript):
 * a filter over the patient checkboxes (Enter ticks the first match), the checkboxes as
 * one Tab stop (arrow keys move within the list), a live line saying who is ticked and
 * what each is credited when the time is split evenly, one submission only, and, on the
 * session timer's form, what is typed kept with the timer (session_timer.js) as it is
 * typed, so a reload, another tab or another device shows it.
 */
(function () {
  "use strict";

  var form = document.getElementById("log-form");
  if (!form) { return; }
  var filter = document.getElementById("patient-filter");
  var list = document.getElementById("patient-checklist");
  var empty = document.getElementById("filter-empty");
  var selection = document.getElementById("selection");
  var minutesInput = form.querySelector("input[name=minutes]");
  var items = list ? Array.prototype.slice.call(list.querySelectorAll("li[data-search]")) : [];
  var timerId = form.dataset.timer || "";

  Array.prototype.forEach.call(form.querySelectorAll(".js-only"), function (element) {
    element.hidden = false;
  });

  function box(item) { return item.querySelector("input"); }

  function visibleItems() {
    return items.filter(function (item) { return !item.hidden; });
  }

  function checked() {
    return items.filter(function (item) { return box(item).checked; });
  }

  // -- the checkboxes as one Tab stop (a roving tabindex) ------------------------------

  function rove(target) {
    items.forEach(function (item) { box(item).tabIndex = -1; });
    if (target) { box(target).tabIndex = 0; }
  }

  function resetRove() {
    var shown = visibleItems();
    var ticked = shown.filter(function (item) { return box(item).checked; });
    rove(ticked[0] || shown[0] || null);
  }

  if (list) {
    list.addEventListener("keydown", function (event) {
      var keys = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, Home: "first", End: "last" };
      var move = keys[event.key];
      if (move === undefined) { return; }
      var shown = visibleItems();
      var at = shown.indexOf(event.target.closest("li"));
      if (at === -1 || !shown.length) { return; }
      event.preventDefault();
      var next = move === "first" ? 0 : move === "last" ? shown.length - 1
        : Math.min(shown.length - 1, Math.max(0, at + move));
      rove(shown[next]);
      box(shown[next]).focus();
    });
    list.addEventListener("focusin", function (event) {
      var item = event.target.closest("li[data-search]");
      if (item) { rove(item); }
    });
  }

  function applyFilter() {
    var words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    items.forEach(function (item) {
      var text = item.dataset.search;
      item.hidden = !words.every(function (word) { return text.indexOf(word) !== -1; });
    });
    empty.hidden = visibleItems().length > 0 || items.length === 0;
    resetRove();
  }

  // -- who is ticked, and the even split -----------------------------------------------

  function minutesText(seconds) {
    var minutes = Math.floor(seconds / 60);
    return minutes === 0 && seconds > 0 ? "< 1 min" : minutes + " min";
  }

  function describe() {
    var ticked = checked();
    var names = ticked.map(function (item) { return item.querySelector(".pname").textContent; });
    if (ticked.length === 0) {
      selection.textContent = "No patient ticked yet.";
      return;
    }
    var text = (ticked.length === 1 ? "1 patient: " : ticked.length + " patients: ") +
      names.join("; ") + ".";
    var minutes = minutesInput ? parseInt(minutesInput.value, 10) : NaN;
    if (ticked.length > 1) {
      text += " One shared activity";
      if (minutes > 0) {
        text += ": each is credited " + minutesText(Math.floor(minutes * 60 / ticked.length)) +
          " of " + minutes + " min";
      } else {
        text += ", split evenly";
      }
      text += ".";
    }
    selection.textContent = text;
  }

  if (filter) {
    filter.addEventListener("input", applyFilter);
    filter.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();  // Enter in the filter never submits the form.
      var first = visibleItems()[0];
      if (first && filter.value.trim()) {
        box(first).checked = true;
        filter.value = "";
        applyFilter();
        describe();
        keepSoon();
      }
    });
  }
  if (list) { list.addEventListener("change", describe); }
  if (minutesInput) { minutesInput.addEventListener("input", describe); }

  // -- the timer's form: what is typed is kept with the timer ----------------------------

  var session = window.ccmSessionTimer;
  var keeping = null;

  function typed() {
    var data = new window.FormData(form);
    return {
      patients: data.getAll("patients").map(function (id) { return parseInt(id, 10); }),
      activity: data.get("activity") || "",
      note: data.get("note") || "",
      outcome: data.get("outcome") || "",
      program: data.get("program") || "ccm"
    };
  }

  function keepNow() {
    if (keeping !== null) { window.clearTimeout(keeping); keeping = null; }
    var fields = typed();
    if (!fields.patients.length) { return Promise.resolve(null); }  // a timer is always for someone
    return session.keep(fields);
  }

  function keepSoon() {
    if (!timerId || !session) { return; }
    if (keeping !== null) { window.clearTimeout(keeping); }
    keeping = window.setTimeout(keepNow, 600);
  }

  if (timerId && session) {
    session.beforeStep(function () { return keeping !== null ? keepNow() : Promise.resolve(null); });
    form.addEventListener("input", keepSoon);
    form.addEventListener("change", keepSoon);
    window.addEventListener("pagehide", function () { if (keeping !== null) { keepNow(); } });
    var saveButton = document.getElementById("save-entry");
    session.onChange(function (state) {
      if (!state.timer || state.timer.id !== timerId) {
        window.location.reload();  // stopped or replaced elsewhere: show the form as it is now
        return;
      }
      saveButton.textContent = state.timer.status === "running" ? "Stop and save" : "Save";
    });
  }

  // -- one submission only -------------------------------------------------------------

  var sent = false;
  var save = document.getElementById("save-entry");
  var saveLabel = save ? save.textContent : "";
  form.addEventListener("submit", function (event) {
    if (event.submitter && event.submitter.dataset.timerStep) { return; }  // session_timer.js sends it
    if (sent) { event.preventDefault(); return; }
    if (keeping !== null) { window.clearTimeout(keeping); keeping = null; }
    sent = true;
    if (save && event.submitter === save) {
      window.setTimeout(function () {
        save.disabled = true;
        save.textContent = "Saving…";
      }, 0);
    }
  });
  // Back/forward cache: a page shown again may be sent again.
  window.addEventListener("pageshow", function () {
    sent = false;
    if (save) {
      save.disabled = false;
      save.textContent = saveLabel;
    }
  });

  if (selection) { describe(); }
  resetRove();

  // Where the hands go first: the first field in error; else, on a fresh form, the patient
  // filter, or the minutes when a patient is already ticked; on the timer's form, what
  // was done when it is still empty.
  var invalid = form.querySelector("[aria-invalid=true], .errorlist + * input, .errorlist ~ input");
  var note = form.querySelector("textarea[name=note]");
  if (invalid) {
    invalid.focus();
  } else if (timerId) {
    if (note && !note.value.trim()) { note.focus(); }
  } else if (!form.dataset.editing) {
    var target = checked().length > 0 ? minutesInput : filter;
    if (target && !target.hidden) { target.focus(); }
  }
})();
