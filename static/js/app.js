// The dashboard's own script: small, and no inline code anywhere (the CSP forbids it).
"use strict";

// After a card is redrawn in place, keep keyboard users where they were: on its message.
document.addEventListener("htmx:afterSwap", (event) => {
  const card = event.detail.target;
  if (card && card.classList && card.classList.contains("card")) {
    const fresh = document.getElementById(card.id);
    const notice = fresh && fresh.querySelector(".alert p");
    if (notice) {
      notice.setAttribute("tabindex", "-1");
      notice.focus({ preventScroll: true });
    }
  }
});

// Bulk selection: keep the count current, and show the bar only while something is selected.
function updateBulkBar() {
  const bar = document.getElementById("bulk");
  if (!bar) return;
  const all = document.getElementById("select-all");
  const checked = document.querySelectorAll(".card .select:checked").length;
  const count = document.getElementById("bulk-count");
  if (all && all.checked) {
    count.textContent = all.parentElement.textContent.replace("Select all", "").replace("matching", "").trim();
  } else {
    count.textContent = String(checked);
  }
  bar.hidden = checked === 0 && !(all && all.checked);
}
document.addEventListener("change", (event) => {
  if (event.target.matches(".card .select, #select-all")) updateBulkBar();
});
document.addEventListener("DOMContentLoaded", updateBulkBar);
document.addEventListener("htmx:afterSettle", updateBulkBar);
