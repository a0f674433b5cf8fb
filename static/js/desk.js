// The inbox's desk controls. On a phone the filters (search, member, campaign, sort, status, page
// size, layout) fold behind one "Filters" button, so that the first screen shows conversations;
// and a button names the `?` key that lists the keyboard shortcuts. The stylesheet folds the
// filters and shows that button only once this script has marked the page (body.scripted):
// without JavaScript the filters stay open and no shortcut is promised. The mark is on the body,
// so it outlives the results' redraws (a tab, a filter).
"use strict";

function syncFiltersButtons() {
  const open = document.body.classList.contains("filters-open");
  document.querySelectorAll(".filters-toggle").forEach((button) => {
    button.setAttribute("aria-expanded", String(open));
  });
}
document.addEventListener("DOMContentLoaded", () => {
  document.body.classList.add("scripted");
  syncFiltersButtons();
});
document.addEventListener("click", (event) => {
  if (!event.target.closest) return;
  if (event.target.closest(".filters-toggle")) {
    document.body.classList.toggle("filters-open");
    syncFiltersButtons();
  } else if (event.target.closest(".shortcuts-hint")) {
    const help = document.getElementById("shortcuts");
    if (help) help.showModal();
  }
});
// As soon as new content is in (a redraw brings the button back as the server draws it, folded),
// not once htmx settles: a tap in between would fold the open filters.
document.addEventListener("htmx:afterSwap", syncFiltersButtons);
