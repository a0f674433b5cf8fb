// On a phone the inbox's filters (search, member, campaign, sort, status, page size, layout) fold
// behind one "Filters" button, so that the first screen shows conversations. The stylesheet folds
// them only once this script has marked the page (body.filters-fold): without JavaScript they stay
// open. The mark is on the body, so it outlives the results' redraws (a tab, a filter).
"use strict";

function syncFiltersButtons() {
  const open = document.body.classList.contains("filters-open");
  document.querySelectorAll(".filters-toggle").forEach((button) => {
    button.setAttribute("aria-expanded", String(open));
  });
}
document.addEventListener("DOMContentLoaded", () => {
  document.body.classList.add("filters-fold");
  syncFiltersButtons();
});
document.addEventListener("click", (event) => {
  if (!event.target.closest || !event.target.closest(".filters-toggle")) return;
  document.body.classList.toggle("filters-open");
  syncFiltersButtons();
});
document.addEventListener("htmx:afterSettle", syncFiltersButtons);
