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
