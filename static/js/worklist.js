/*
 * The worklist's selection (optional: without JavaScript each row's box still works):
 * "select every ready row on this page" and a live count of the rows selected for
 * "Mark selected submitted".
 */
(function () {
  "use strict";

  var form = document.getElementById("bulk-form");
  if (!form) { return; }
  var boxes = Array.prototype.slice.call(
    document.querySelectorAll('input[type=checkbox][name=row][form="bulk-form"]')
  );
  var all = form.querySelector("[data-select-all]");
  var count = form.querySelector("[data-role=selected-count]");
  var button = form.querySelector("[data-testid=bulk-submit]");

  if (boxes.length === 0) {
    form.hidden = true; // nothing on this page may be marked submitted
    return;
  }

  var update = function () {
    var chosen = boxes.filter(function (box) { return box.checked; }).length;
    count.textContent = chosen ? chosen + " selected" : "";
    button.disabled = chosen === 0;
    if (all) {
      all.checked = chosen > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
  };

  if (all) {
    all.closest("label").hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
  }
  boxes.forEach(function (box) { box.addEventListener("change", update); });
  update();
})();
