/*
 * The log-time form's helpers, all optional (the form works without JavaScript):
 * a filter over the patient checkboxes (Enter ticks the first match), a live line saying
 * who is ticked and what each is credited when the time is split evenly, stopping a
 * running timer on Save, and one submission only.
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

  Array.prototype.forEach.call(form.querySelectorAll(".js-only"), function (element) {
    if (element.id !== "timer") { element.hidden = false; }
  });

  function visibleItems() {
    return items.filter(function (item) { return !item.hidden; });
  }

  function applyFilter() {
    var words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    items.forEach(function (item) {
      var text = item.dataset.search;
      item.hidden = !words.every(function (word) { return text.indexOf(word) !== -1; });
    });
    empty.hidden = visibleItems().length > 0 || items.length === 0;
  }

  function checked() {
    return items.filter(function (item) { return item.querySelector("input").checked; });
  }

  function minutesText(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    if (m === 0) { return s + " s"; }
    return s === 0 ? m + " min" : m + " min " + s + " s";
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
        var box = first.querySelector("input");
        box.checked = true;
        filter.value = "";
        applyFilter();
        describe();
      }
    });
  }
  if (list) { list.addEventListener("change", describe); }
  if (minutesInput) { minutesInput.addEventListener("input", describe); }

  var sent = false;
  var saveButton = form.querySelector("button[type=submit]");
  var saveLabel = saveButton ? saveButton.textContent : "";
  form.addEventListener("submit", function (event) {
    if (sent) { event.preventDefault(); return; }
    // Save while the timer runs: the activity ends now.
    if (window.ccmTimer && window.ccmTimer.isRunning() && !(minutesInput && minutesInput.value)) {
      window.ccmTimer.stop();
    }
    sent = true;
    if (saveButton) {
      window.setTimeout(function () {
        saveButton.disabled = true;
        saveButton.textContent = "Saving…";
      }, 0);
    }
  });
  // Back/forward cache: a page shown again may be sent again.
  window.addEventListener("pageshow", function () {
    sent = false;
    if (saveButton) {
      saveButton.disabled = false;
      saveButton.textContent = saveLabel;
    }
  });

  if (selection) { describe(); }

  // Where the hands go first: the first field in error; else, on a fresh form, the patient
  // filter, or the minutes when a patient is already ticked.
  var invalid = form.querySelector("[aria-invalid=true], .errorlist + * input, .errorlist ~ input");
  if (invalid) {
    invalid.focus();
  } else if (!form.dataset.editing) {
    var target = checked().length > 0 ? minutesInput : filter;
    if (target && !target.hidden) { target.focus(); }
  }
})();
