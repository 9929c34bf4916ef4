/*
 * Helpers of the billing pages, all optional (every page works without JavaScript):
 * - the month dashboard polls GET /api/billing-months/{YYYY-MM}/ while the month is
 *   closing, shows chunks done / total, and reloads the page once it is closed;
 * - the services-billed-elsewhere form filters its patient list as you type.
 */
(function () {
  "use strict";

  Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (element) {
    element.hidden = false;
  });

  // -- close progress ------------------------------------------------------------------
  var progress = document.getElementById("close-progress");
  if (progress && progress.dataset.status === "closing") {
    var url = progress.dataset.url;
    var bar = progress.querySelector("[data-role=bar]");
    var meter = progress.querySelector("[role=progressbar]");
    var done = progress.querySelector("[data-role=done]");
    var total = progress.querySelector("[data-role=total]");
    var state = progress.querySelector("[data-role=state]");
    var badge = document.querySelector("[data-testid=month-status]");
    var delay = 1000;
    var failures = 0;

    var show = function (data) {
      var run = data.run || {};
      var chunksDone = run.chunks_done || 0;
      var chunksTotal = run.chunks_total || 0;
      done.textContent = String(chunksDone);
      total.textContent = String(chunksTotal);
      meter.setAttribute("aria-valuenow", String(chunksDone));
      meter.setAttribute("aria-valuemax", String(chunksTotal));
      // The width comes from progress.css by data-percent: no inline style (CSP).
      bar.parentElement.dataset.percent = String(chunksTotal ? Math.round(100 * chunksDone / chunksTotal) : 0);
      if (badge) {
        badge.textContent = data.status;
        badge.className = "badge state state-" + data.status;
      }
    };

    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          failures = 0;
          show(data);
          if (data.run && data.run.status === "failed") {
            state.textContent = "The close failed: " + (data.run.error || "see the server log") + ".";
            state.className = "error";
            return;
          }
          if (data.status !== "closing") {
            state.textContent = data.status === "closed"
              ? "Closed. Loading the worklist numbers…"
              : "The month is " + data.status + ".";
            window.setTimeout(function () { window.location.reload(); }, 400);
            return;
          }
          window.setTimeout(poll, delay);
        })
        .catch(function () {
          failures += 1;
          state.textContent = "Could not reach the server; retrying…";
          window.setTimeout(poll, Math.min(delay * Math.pow(2, failures), 15000));
        });
    };
    window.setTimeout(poll, 300);
  }

  // -- a searchable select ---------------------------------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll("[data-filter-select]"), function (input) {
    var select = document.getElementById(input.dataset.filterSelect);
    var status = document.getElementById("patient-filter-status");
    if (!select) { return; }
    var options = Array.prototype.slice.call(select.options);

    var apply = function () {
      var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      var firstShown = null;
      options.forEach(function (option) {
        var text = option.textContent.toLowerCase();
        var match = words.every(function (word) { return text.indexOf(word) !== -1; });
        option.hidden = !match;
        option.disabled = !match;
        if (match) {
          shown += 1;
          if (firstShown === null) { firstShown = option; }
        }
      });
      if (select.selectedOptions.length && select.selectedOptions[0].hidden) {
        select.value = "";
      }
      if (shown === 1 && firstShown) { firstShown.selected = true; }
      if (status) {
        status.textContent = words.length ? shown + " patient" + (shown === 1 ? "" : "s") + " match" + (shown === 1 ? "es" : "") : "";
      }
    };

    input.addEventListener("input", apply);
    input.addEventListener("keydown", function (event) {
      // Enter picks the first match instead of submitting; ArrowDown moves into the list.
      if (event.key === "Enter" || event.key === "ArrowDown") {
        var first = options.filter(function (option) { return !option.hidden; })[0];
        if (first) {
          event.preventDefault();
          if (!select.value || select.selectedOptions[0].hidden) { first.selected = true; }
          select.focus();
        }
      }
    });
  });
})();
