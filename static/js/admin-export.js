/* The supplier admin's export page (templates/admin/import_export/export.html): "Select all" ticks
   every field, as django-import-export's inline onchange did (the CSP refuses inline handlers). */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input.select-toggle") &&
        typeof window.onSelectToggleChange === "function") {
      window.onSelectToggleChange(event);
    }
  });
}());
