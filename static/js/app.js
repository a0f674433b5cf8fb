// The dashboard's own script: small, and no inline code anywhere (the CSP forbids it).
"use strict";

// The browser's time zone, told to the server in the `tz` cookie when absent or changed
// (dashboard/accounts/middleware.py): times follow it until the user chooses a zone on /account/.
(function reportTimeZone() {
  let zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  // IANA names only (Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5): nothing a
  // cookie would need quoted.
  if (!zone || !/^[A-Za-z0-9_+\-/]{1,64}$/.test(zone)) return;
  const current = document.cookie.split("; ").find((pair) => pair.startsWith("tz="));
  if (current === "tz=" + zone) return;
  const secure = location.protocol === "https:" ? "; secure" : "";
  document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax" + secure;
})();

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
  const checked = document.querySelectorAll(".card [name=ids]:checked").length;
  const count = document.getElementById("bulk-count");
  // "Select all N matching" is offered once a first card is ticked, and goes with the last.
  if (all) {
    if (checked === 0) all.checked = false;
    all.parentElement.hidden = checked === 0;
  }
  if (all && all.checked) {
    count.textContent = all.parentElement.textContent.replace("Select all", "").replace("matching", "").trim();
  } else {
    count.textContent = String(checked);
  }
  bar.hidden = checked === 0 && !(all && all.checked);
}
document.addEventListener("change", (event) => {
  if (event.target.matches(".card [name=ids], #select-all")) updateBulkBar();
});
document.addEventListener("DOMContentLoaded", updateBulkBar);
document.addEventListener("htmx:afterSettle", updateBulkBar);

// Live refresh: while the tab is visible, ask every few seconds what changed. Cards the user is
// acting on (focus inside, pointer over, a request or picker open) are left alone.
function busyCard(card) {
  return card.contains(document.activeElement) && document.activeElement !== card
    || card.matches(":hover")
    || card.querySelector(".htmx-request, .picker")
    || card.querySelector("[name=ids]:checked");
}
function pollChanges() {
  const cards = document.getElementById("cards");
  if (!cards || document.visibilityState !== "visible" || !window.htmx) return;
  // A bulk action in flight redraws its cards itself, as the user's own change.
  if (document.querySelector("#bulk.htmx-request, #bulk-report .htmx-request")) return;
  const versions = [];
  const busy = [];
  // Every card in order (the server counts those that moved): "id:version", or "id:" for those
  // already told they left the view, or being acted on; "id:-" for those told they moved on.
  cards.querySelectorAll(".card").forEach((card) => {
    const id = card.id.slice(2);
    if (card.querySelector(".left-view")) { versions.push(id + ":"); return; }
    if (card.querySelector(".off-page")) { versions.push(id + ":-"); return; }
    if (busyCard(card)) { busy.push(id); versions.push(id + ":"); } else versions.push(id + ":" + card.dataset.v);
  });
  const bar = document.getElementById("new-bar");
  const url = cards.dataset.refreshUrl + "&v=" + versions.join(",") + "&busy=" + busy.join(",")
    + "&since=" + (cards.dataset.drawn || "") + "&bar=" + (bar ? bar.dataset.key : "");
  // The answer only carries out-of-band swaps; body as source and target keeps the card list's
  // inherited per-card target and sync rules out of it.
  window.htmx.ajax("GET", url, { swap: "none", source: document.body, target: document.body });
}
let pollTimer = null;
// Whether the dashboard pushes changes (its /live/stream/ says so): then polling is only a
// rare check in case a push was lost.
let live = null;
function schedulePolling() {
  const cards = document.getElementById("cards");
  if (pollTimer) clearInterval(pollTimer);
  if (!cards) return;
  const fallback = Number(cards.dataset.refreshSeconds) || 20;
  const seconds = live ? Number(cards.dataset.liveRefreshSeconds) || 120 : fallback;
  pollTimer = setInterval(pollChanges, seconds * 1000);
}
function setLive(flowing, why) {
  // On the body too, for styles and for tests to know the stream is open.
  document.body.dataset.live = flowing ? "1" : "0";
  const cause = document.getElementById("live-cause");
  if (cause && why) cause.textContent = why;
  if (live === flowing) return;
  live = flowing;
  const note = document.getElementById("live-note");
  if (note) note.hidden = flowing;
  schedulePolling();
}
// A pushed change: the inbox asks for its own view of it at once (a burst of changes is asked
// for once); a conversation page redraws its thread, and its card unless the user is on it.
let pushTimer = null;
function conversationChanged(id) {
  const thread = document.getElementById("thread");
  if (thread && thread.dataset.conversationId === id && window.htmx) {
    window.htmx.ajax("GET", location.href, { target: "#thread", select: "#thread", swap: "outerHTML" });
    const card = document.getElementById("c-" + id);
    if (card && !busyCard(card)) {
      window.htmx.ajax("GET", location.href, { target: "#c-" + id, select: "#c-" + id, swap: "outerHTML" });
    }
    return;
  }
  if (!document.getElementById("cards")) return;
  if (pushTimer) return;
  pushTimer = setTimeout(() => { pushTimer = null; pollChanges(); }, 100);
}
document.addEventListener("htmx:sseBeforeMessage", (event) => {
  // The stream's messages are acted on here, never swapped into the page.
  event.preventDefault();
  const message = event.detail;
  if (message.type === "live") {
    // "1", or "0 " and why live updates are paused (dashboard/live/streams.py).
    setLive(message.data === "1", message.data.slice(2));
  } else if (message.type === "ended") {
    streamEnded(message.data, event.target);
  } else if (message.type === "alert") {
    alertRaised(message.data);
  } else if (message.type === "takeback") {
    alertRaised(message.data, "take-backs/");
  } else if (message.type === "changed") {
    try {
      conversationChanged(JSON.parse(message.data).id);
    } catch (error) {
      // A message the page cannot read: the next poll catches up.
    }
  }
});
document.addEventListener("htmx:sseError", () => setLive(false));
// The dashboard ended the stream: signed out, no longer allowed to view conversations, or a
// newer tab of the same user took its place. Stop reconnecting (the element goes) and poll; a
// replaced tab takes a stream again when it is looked at. "expired" (a stream's set lifetime)
// takes a new stream at once. Each is closed here, before the dashboard closes its end: a stream
// ended on purpose is then no error (htmx logs an EventSource's error event to the console).
// "unavailable" is left to reconnect after the stream's own retry delay.
let parkedStream = null;
function closeStream(element) {
  // The extension closes the EventSource of an element htmx cleans up.
  if (window.htmx) window.htmx.trigger(element, "htmx:beforeCleanupElement");
}
function streamEnded(reason, element) {
  if (reason === "unavailable") { setLive(false); return; }
  closeStream(element);
  if (reason === "expired") {
    const fresh = element.cloneNode(false);
    element.replaceWith(fresh);
    window.htmx.process(fresh);
    return;
  }
  setLive(false);
  parkedStream = reason === "replaced" ? element.cloneNode(false) : null;
  element.remove();
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible" || !parkedStream || !window.htmx) return;
  const element = parkedStream;
  parkedStream = null;
  document.body.append(element);
  window.htmx.process(element);
});
document.addEventListener("DOMContentLoaded", schedulePolling);
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.target && event.detail.target.id === "results") schedulePolling();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") pollChanges();
});

// Keyboard: j/k move between cards, Enter opens, c closes, o reopens, a opens the reassign
// picker, x toggles selection, ? lists the shortcuts. Ignored while typing; a shortcut whose
// button the user's role does not show does nothing.
const SHORTCUTS = { c: "Close", o: "Reopen", a: "Reassign" };
function cardsList() { return Array.from(document.querySelectorAll("#cards .card")); }
function currentCard() {
  return document.activeElement && document.activeElement.closest && document.activeElement.closest("#cards .card");
}
function focusCard(card) {
  if (!card) return;
  document.querySelectorAll(".card.kb-focus").forEach((c) => c.classList.remove("kb-focus"));
  card.classList.add("kb-focus");
  card.tabIndex = -1;
  card.focus();
  card.scrollIntoView({ block: "nearest" });
}
// A card takes focus when clicked, so the shortcuts then act on the card the pointer chose.
document.addEventListener("mousedown", (event) => {
  const card = event.target.closest && event.target.closest("#cards .card");
  if (card) card.tabIndex = -1;
}, true);
function buttonNamed(card, name) {
  return Array.from(card.querySelectorAll(".actions button")).find((b) => b.textContent.trim() === name);
}
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const picker = target.closest && target.closest(".picker-dialog");
  if (picker) { pickerKey(event, picker); return; }
  if (target.closest("input, textarea, select, [contenteditable]")) {
    if (event.key === "Escape") target.blur();
    return;
  }
  const help = document.getElementById("shortcuts");
  if (event.key === "?") { if (help) help.showModal(); event.preventDefault(); return; }
  const cards = cardsList();
  if (!cards.length) return;
  const card = currentCard();
  const index = card ? cards.indexOf(card) : -1;
  if (event.key === "j") { focusCard(cards[Math.min(index + 1, cards.length - 1)]); event.preventDefault(); return; }
  if (event.key === "k") { focusCard(cards[Math.max(index - 1, 0)]); event.preventDefault(); return; }
  if (!card) return;
  if (event.key === "Enter" && target === card) {
    const link = card.querySelector("h2 a");
    if (link) link.click();
    event.preventDefault();
    return;
  }
  if (event.key === "x") {
    const box = card.querySelector("[name=ids]");
    if (box) { box.click(); }
    event.preventDefault();
    return;
  }
  const name = SHORTCUTS[event.key];
  if (name) {
    const button = buttonNamed(card, name);
    if (button && !button.disabled) button.click();
    event.preventDefault();
  }
});
// The reassign picker arrives in the card's slot as a <dialog>: shown modal (over the inbox, so
// the card and its row keep their size), placed at the card's Reassign button, the cursor in its
// search. ↑/↓ move between members, Enter assigns, Esc closes it and focus goes back to the
// Reassign button. Without JavaScript the picker is a page of its own.
const NARROW = window.matchMedia("(max-width: 600px)");
function reassignButton(card) {
  return card && card.querySelector('.actions button[formaction$="/assign/"]');
}
function placePicker(dialog) {
  const card = dialog.closest(".card");
  const anchor = reassignButton(card) || card;
  if (NARROW.matches || !anchor) {
    // A phone: the stylesheet centres it, as wide as the screen.
    dialog.style.left = "";
    dialog.style.top = "";
    return;
  }
  const gap = 12;
  const below = anchor.getBoundingClientRect();
  const left = Math.min(card.getBoundingClientRect().left, window.innerWidth - dialog.offsetWidth - gap);
  const top = Math.min(below.bottom + 4, window.innerHeight - dialog.offsetHeight - gap);
  dialog.style.left = Math.max(left, gap) + "px";
  dialog.style.top = Math.max(top, gap) + "px";
}
document.addEventListener("htmx:afterSettle", (event) => {
  const slot = event.detail.target;
  const dialog = slot && slot.querySelector && slot.querySelector("dialog.picker-dialog:not([open])");
  if (!dialog) return;
  dialog.showModal();
  placePicker(dialog);
  dialog.querySelector(".picker-search").focus();
});
window.addEventListener("resize", () => {
  document.querySelectorAll("dialog.picker-dialog[open]").forEach(placePicker);
});
// Esc or Cancel: the dialog leaves the card (which live refresh may then redraw again).
document.addEventListener("close", (event) => {
  const dialog = event.target;
  if (!dialog.matches || !dialog.matches("dialog.picker-dialog")) return;
  const card = dialog.closest(".card");
  dialog.remove();
  const button = reassignButton(card);
  if (button) button.focus();
}, true);
function pickerMembers(dialog) {
  return Array.from(dialog.querySelectorAll(".picker-member:not([hidden]) button:not(:disabled)"));
}
function pickerKey(event, dialog) {
  const search = dialog.querySelector(".picker-search");
  const members = pickerMembers(dialog);
  const at = members.indexOf(event.target);
  if (event.key === "ArrowDown") {
    const next = members[Math.min(at + 1, members.length - 1)];
    if (next) next.focus();
    event.preventDefault();
  } else if (event.key === "ArrowUp") {
    if (at <= 0) search.focus(); else members[at - 1].focus();
    event.preventDefault();
  } else if (event.key === "Enter" && event.target === search) {
    // The form's first button may be the current assignee's (disabled): pick the first match
    // the user can choose, and only once they typed something.
    event.preventDefault();
    if (search.value.trim() && members.length) members[0].click();
  } else if (event.key === "Escape") {
    // Asked for here: a search field that holds text would take Esc to empty itself.
    event.preventDefault();
    dialog.close();
  }
}
document.addEventListener("input", (event) => {
  if (!event.target.matches(".picker-search")) return;
  const needle = event.target.value.trim().toLowerCase();
  event.target.closest(".picker").querySelectorAll(".picker-member").forEach((item) => {
    item.hidden = needle !== "" && !item.textContent.toLowerCase().includes(needle);
  });
});

// Delete shares the card's form, so its confirmation is asked here: the browser's own dialog,
// then the server is told the user confirmed. Without JavaScript the server asks instead.
let lastSubmitter = null;
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("button");
  if (button && button.type === "submit") lastSubmitter = button;
}, true);
document.addEventListener("htmx:confirm", (event) => {
  const button = lastSubmitter;
  if (!button || !("confirm" in button.dataset) || !button.form || button.form !== event.detail.elt) return;
  event.preventDefault();
  if (window.confirm("Delete this conversation? It leaves every inbox view but Deleted.")) {
    button.dataset.confirmed = "yes";
    event.detail.issueRequest(true);
  }
});
document.addEventListener("htmx:configRequest", (event) => {
  const button = lastSubmitter;
  if (button && button.dataset.confirmed === "yes" && button.form === event.detail.elt) {
    event.detail.parameters.confirmed = "yes";
    delete button.dataset.confirmed;
  }
});

// A bulk request names every card on screen, so all of them can be redrawn, not only those ticked.
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.elt && event.detail.elt.id === "bulk") {
    event.detail.parameters.screen = Array.from(document.querySelectorAll("#cards .card"), (c) => c.id.slice(2)).join(",");
  }
});

// Alerts before a breach. The stream says only an alert's number; the page asks whether it is
// for this user (an empty answer if not) and adds it to the list. Each alert is notified once
// per browser, where the user allowed notifications from the button (never asked on load).
function alertRaised(id, kind = "") {
  const section = document.querySelector(".clock-alerts");
  if (!section || !window.htmx || !/^[0-9]+$/.test(id)) return;
  if (section.querySelector('[data-alert="' + kind + id + '"]')) return;
  const url = section.dataset.alertUrl.replace(/0\/$/, kind + id + "/");
  window.htmx.ajax("GET", url, { target: "#clock-alerts", swap: "beforeend", source: document.body });
}
function notifiedAlerts() {
  try { return JSON.parse(localStorage.getItem("notified-alerts") || "[]"); } catch (error) { return []; }
}
function showAlerts() {
  const section = document.querySelector(".clock-alerts");
  if (!section || !section.querySelector(".clock-alert")) return;
  section.hidden = false;
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const notified = notifiedAlerts();
  section.querySelectorAll(".clock-alert").forEach((item) => {
    const id = item.dataset.alert;
    if (notified.includes(id)) return;
    notified.push(id);
    new Notification("WapiKit dashboard", { body: item.textContent.replace(/\s+/g, " ").trim(), tag: "alert-" + id });
  });
  localStorage.setItem("notified-alerts", JSON.stringify(notified.slice(-200)));
}
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.target && event.detail.target.id === "clock-alerts") showAlerts();
});
document.addEventListener("DOMContentLoaded", () => {
  showAlerts();
  const button = document.getElementById("notify");
  if (!button || !("Notification" in window) || Notification.permission !== "default") return;
  button.hidden = false;
  button.addEventListener("click", () => {
    Notification.requestPermission().then(() => { button.hidden = true; showAlerts(); });
  });
});

// While WapiKit is unreachable a page shows its last copy (#outage-note), actions held, or fails
// ([data-recovers]); once the dashboard's health (no API call) says WapiKit is reachable it asks
// again: the inbox swaps its results in place, any other page reloads itself.
const OUTAGE_CHECK_MS = 3000;
let outageTimer = null;
function holdActionsDuringOutage() {
  const note = document.getElementById("outage-note");
  if (note) {
    document.querySelectorAll(".card .actions button, #bulk button").forEach((button) => {
      button.disabled = true;
      button.setAttribute("aria-describedby", "outage-note");
    });
  }
  if (note || document.querySelector("[data-recovers]")) {
    if (!outageTimer) outageTimer = setInterval(checkWapiKitAnswers, OUTAGE_CHECK_MS);
  } else if (outageTimer) {
    clearInterval(outageTimer);
    outageTimer = null;
  }
}
function checkWapiKitAnswers() {
  if (document.visibilityState !== "visible") return;
  fetch(document.body.dataset.healthUrl)
    .then((r) => (r.ok ? r.json() : null))
    .then((h) => { if (h && h.wapikit === "reachable") askAgain(); })
    .catch(() => {});
}
function askAgain() {
  const results = document.getElementById("results");
  const headers = results ? { "HX-Request": "true", "HX-Target": "results" } : {};
  fetch(location.href, { headers: headers, credentials: "same-origin" })
    .then((response) => response.text().then((text) => {
      if (!response.ok || text.includes('id="outage-note"') || text.includes("data-recovers")) return;
      if (!results || !window.htmx) { location.reload(); return; }
      window.htmx.swap(results, text, { swapStyle: "outerHTML" });
      holdActionsDuringOutage();
      schedulePolling();
    }))
    .catch(() => {});  // the dashboard itself is unreachable: the next check tries again
}
document.addEventListener("DOMContentLoaded", holdActionsDuringOutage);
document.addEventListener("htmx:afterSettle", holdActionsDuringOutage);

// An Undo runs for a moment only (ACTION_UNDO_SECONDS): its button goes a second before the
// server would refuse it.
function expireUndos() {
  document.querySelectorAll("form.undo[data-undo-seconds]:not([data-timed])").forEach((form) => {
    form.dataset.timed = "1";
    const seconds = Math.max(1, Number(form.dataset.undoSeconds) - 1);
    setTimeout(() => form.remove(), seconds * 1000);
  });
}
document.addEventListener("htmx:afterSettle", expireUndos);
document.addEventListener("DOMContentLoaded", expireUndos);

// After a bulk report the selection is done with: every tick cleared, and the summary and the
// tabs' counts asked for again (what the action changed counts now). A confirmation or a
// refusal leaves the selection as it was.
document.addEventListener("htmx:afterSettle", (event) => {
  const target = event.detail.target;
  if (!target || target.id !== "bulk-report" || !target.querySelector("section.report:not(.confirm)")) return;
  document.querySelectorAll(".card [name=ids]:checked, #select-all:checked").forEach((box) => { box.checked = false; });
  updateBulkBar();
  const bar = document.getElementById("bulk");
  if (!window.htmx || !bar) return;
  // Each from its own element: requests from one element wait for each other.
  window.htmx.ajax("GET", bar.dataset.countsUrl, { target: "#tabs", swap: "outerHTML", source: "#tabs" });
  window.htmx.ajax("GET", location.href, { target: "#summary", select: "#summary", swap: "outerHTML", source: "#summary" });
});

// Docking the bulk bar and its report (app.css) needs this script: without it the bar stays in
// the page, where a form that is always shown belongs. A report is dismissed by its button.
document.documentElement.classList.add("js");
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("[data-dismiss-report]");
  if (!button) return;
  const report = document.getElementById("bulk-report");
  if (report) report.replaceChildren();
});
